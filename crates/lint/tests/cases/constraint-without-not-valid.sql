SET lock_timeout = '2s';
SET statement_timeout = '5min';
-- flagged: foreign key and check without NOT VALID
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE accounts ADD CONSTRAINT positive_balance CHECK (balance >= 0);
-- flagged: inline REFERENCES in ADD COLUMN
ALTER TABLE emails ADD COLUMN user_id int REFERENCES users (id);
-- flagged: PostgreSQL 18 NOT NULL constraint without NOT VALID
ALTER TABLE accounts ADD CONSTRAINT accounts_owner_nn NOT NULL owner_id;
-- not flagged: NOT VALID, USING INDEX
ALTER TABLE orders ADD CONSTRAINT orders_shop_fk FOREIGN KEY (shop_id) REFERENCES shops (id) NOT VALID;
ALTER TABLE account ADD CONSTRAINT account_pk PRIMARY KEY USING INDEX account_pk_idx;
-- not flagged: table created earlier in the history
CREATE TABLE core_foo (id bigint, age integer NOT NULL);
ALTER TABLE core_foo ADD CONSTRAINT age_restriction CHECK (age >= 25);
