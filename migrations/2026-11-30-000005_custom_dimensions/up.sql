-- Custom dimensions (MATOMO.md section 4.6): which `dimensionN` request
-- parameter lands in which `custom_dimension_<index>` column, and whether it
-- is a visit or an action dimension. Rows are managed by the admin API; the
-- tracker reads them into its site cache.
CREATE TABLE custom_dimensions (
  idcustomdimension BIGINT UNSIGNED NOT NULL,
  idsite BIGINT UNSIGNED NOT NULL,
  name VARCHAR(100) NOT NULL,
  `index` SMALLINT UNSIGNED NOT NULL,
  scope VARCHAR(10) NOT NULL,
  active TINYINT UNSIGNED NOT NULL DEFAULT 0,
  extractions TEXT NOT NULL,
  case_sensitive TINYINT UNSIGNED NOT NULL DEFAULT 1,
  PRIMARY KEY (idcustomdimension, idsite),
  UNIQUE KEY uniq_hash (idsite, scope, `index`),
  CONSTRAINT custom_dimensions_scope CHECK (scope IN ('visit', 'action'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
