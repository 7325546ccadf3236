ALTER TABLE log_visit
  DROP INDEX index_idsite_datetime,
  ADD INDEX index_idsite_datetime (idsite, visit_last_action_time);
