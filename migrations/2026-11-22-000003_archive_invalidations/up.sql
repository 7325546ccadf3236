-- Queue of archives to (re)compute (MATOMO.md section 4.7). Archivers claim
-- rows with SELECT ... FOR UPDATE SKIP LOCKED and set status = 1 with
-- ts_started, processing_host and process_id, so a stale claim can be found
-- and recovered.
CREATE TABLE archive_invalidations (
  idinvalidation BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  idarchive INT UNSIGNED NULL,
  name VARCHAR(255) NOT NULL,
  idsite INT UNSIGNED NOT NULL,
  date1 DATE NOT NULL,
  date2 DATE NOT NULL,
  period TINYINT UNSIGNED NOT NULL,
  ts_invalidated DATETIME NULL,
  ts_started DATETIME NULL,
  status TINYINT(1) UNSIGNED NOT NULL DEFAULT 0,
  report VARCHAR(255) NULL,
  processing_host VARCHAR(100) NULL,
  process_id VARCHAR(15) NULL,
  PRIMARY KEY (idinvalidation),
  INDEX index_idsite_dates_period_name (idsite, date1, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
