-- Log import bookkeeping (Tally's own tables, no Matomo equivalent).
-- A file is known by its content hash, so a renamed or rotated file is
-- recognised. Its progress (byte offset and line number) is committed in the
-- same transaction as the rows imported from it, so an interrupted import
-- resumes exactly where it stopped.
CREATE TABLE logimport_file (
  idfile BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  path VARCHAR(1024) NOT NULL,
  content_hash VARBINARY(32) NOT NULL,
  size_bytes BIGINT UNSIGNED NOT NULL,
  idsite INT UNSIGNED NULL,
  log_format VARCHAR(50) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'queue',
  offset_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  lines_done BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ts_created DATETIME NOT NULL,
  ts_updated DATETIME NOT NULL,
  ts_completed DATETIME NULL,
  PRIMARY KEY (idfile),
  UNIQUE KEY uniq_content_hash (content_hash),
  INDEX index_status (status),
  CONSTRAINT logimport_file_status CHECK (status IN ('queue', 'partial', 'completed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per import run of a file: what was read and why lines were skipped.
CREATE TABLE logimport_file_summary (
  idsummary BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  idfile BIGINT UNSIGNED NOT NULL,
  ts_started DATETIME NOT NULL,
  ts_finished DATETIME NULL,
  lines_parsed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  lines_imported BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_static BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_bots BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_http_errors BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_redirects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_excluded BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ignored_invalid BIGINT UNSIGNED NOT NULL DEFAULT 0,
  errors BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (idsummary),
  INDEX index_idfile (idfile)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per site and day: queue -> partial -> loaded (all files of the day
-- completed) -> pretable (exported) -> calculated -> done (set downstream).
CREATE TABLE logimport_day_status (
  idsite INT UNSIGNED NOT NULL,
  date DATE NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'queue',
  files_total INT UNSIGNED NOT NULL DEFAULT 0,
  files_completed INT UNSIGNED NOT NULL DEFAULT 0,
  ts_updated DATETIME NOT NULL,
  PRIMARY KEY (idsite, date),
  INDEX index_status (status),
  CONSTRAINT logimport_day_status_status
    CHECK (status IN ('queue', 'partial', 'loaded', 'pretable', 'calculated', 'done'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
