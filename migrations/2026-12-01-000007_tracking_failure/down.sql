DROP TABLE tracking_failure;
