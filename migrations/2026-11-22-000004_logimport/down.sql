DROP TABLE logimport_day_status;
DROP TABLE logimport_file_summary;
DROP TABLE logimport_file;
