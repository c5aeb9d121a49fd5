-- lint: assume_in_transaction
SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: the runner's transaction holds the ADD's lock through VALIDATE
ALTER TABLE app_email ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES app_user (id) NOT VALID;
ALTER TABLE app_email VALIDATE CONSTRAINT fk_user;
