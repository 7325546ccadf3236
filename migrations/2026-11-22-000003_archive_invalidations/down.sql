DROP TABLE archive_invalidations;
