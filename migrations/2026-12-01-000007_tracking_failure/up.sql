-- Matomo's tracking_failure: the first occurrence of each kind of refused
-- tracking request per site (1 = the site does not exist, 2 = a parameter
-- needing a token came without a valid one), shown by
-- CoreAdminHome.getTrackingFailures. Rows older than two days are removed.
CREATE TABLE tracking_failure (
  idsite BIGINT UNSIGNED NOT NULL,
  idfailure SMALLINT UNSIGNED NOT NULL,
  date_first_occurred DATETIME NOT NULL,
  request_url MEDIUMTEXT NOT NULL,
  PRIMARY KEY (idsite, idfailure)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
