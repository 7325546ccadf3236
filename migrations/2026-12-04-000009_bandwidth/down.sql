ALTER TABLE log_link_visit_action DROP COLUMN bandwidth;
