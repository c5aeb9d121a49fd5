-- A rename hint that does not match the change is reported, not guessed at.
-- expect: blocked
-- options: rename-column=public.users.name=display_name
-- before
CREATE TABLE users (id bigint PRIMARY KEY, fullname text);
-- after
CREATE TABLE users (id bigint PRIMARY KEY, full_name text);
