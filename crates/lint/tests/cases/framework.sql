CREATE INDEX users_email_idx ON users (email);
-- cutover:ignore drop-column
ALTER TABLE users DROP COLUMN legacy;
BEGIN;
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
COMMIT;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
SELECT FROM WHERE;
