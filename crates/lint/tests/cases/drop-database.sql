-- flagged: with or without IF EXISTS
DROP DATABASE analytics;
DROP DATABASE IF EXISTS "Reporting"
