DROP TABLE log_conversion_item;
DROP TABLE log_conversion;
DROP TABLE log_action;
DROP TABLE log_link_visit_action;
DROP TABLE log_visit;
