-- Annotations (Matomo's Annotations plugin): a dated note on a site's
-- evolution graphs. Matomo keeps each site's notes as one PHP-serialized
-- array in `option` (`<idsite>_annotations`), rewritten whole on every
-- change; a row per note lets two users add notes at once without one
-- write losing the other's. `idnote` is the note's id within its site, as
-- Matomo's array index: the site's highest id + 1, starting at 0.
CREATE TABLE annotation (
  idsite INT UNSIGNED NOT NULL,
  idnote INT UNSIGNED NOT NULL,
  date DATE NOT NULL,
  note TEXT NOT NULL,
  starred TINYINT UNSIGNED NOT NULL DEFAULT 0,
  login VARCHAR(100) NOT NULL,
  ts_created DATETIME NOT NULL,
  PRIMARY KEY (idsite, idnote),
  INDEX index_idsite_date (idsite, date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
