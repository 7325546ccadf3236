DROP TABLE custom_dimensions;
