DROP TABLE example_plugin_notes;
