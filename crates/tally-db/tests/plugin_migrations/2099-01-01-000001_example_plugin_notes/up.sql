-- A plugin's own table, as a plugin crate would ship it (test fixture).
CREATE TABLE example_plugin_notes (
  idnote INT UNSIGNED NOT NULL AUTO_INCREMENT,
  idsite INT UNSIGNED NOT NULL,
  note VARCHAR(255) NOT NULL,
  PRIMARY KEY (idnote)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
