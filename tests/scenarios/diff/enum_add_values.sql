-- Values added at the front, in the middle and at the end stay in place (ALTER TYPE ADD VALUE).
-- before
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE person (name text, current_mood mood);
-- after
CREATE TYPE mood AS ENUM ('furious', 'sad', 'ok', 'happy', 'ecstatic');
CREATE TABLE person (name text, current_mood mood);
