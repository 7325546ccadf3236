DROP TABLE annotation;
