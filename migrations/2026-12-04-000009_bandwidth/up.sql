-- The response size in bytes of an action (the `bw_bytes` tracking
-- parameter; the log importer's length field), as Matomo's Bandwidth plugin
-- stores it: `log_link_visit_action.bandwidth`, its type, NULL when not
-- tracked. Added at the end of the table, as Matomo adds a plugin's column,
-- which MariaDB does in place without copying the table.
ALTER TABLE log_link_visit_action ADD COLUMN bandwidth BIGINT(15) UNSIGNED DEFAULT NULL;
