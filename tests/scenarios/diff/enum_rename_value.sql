-- An enum label that changes in place is renamed, so rows holding it keep their value.
-- before
CREATE TYPE status AS ENUM ('pending', 'done');
CREATE TABLE tasks (id int, status status DEFAULT 'done');
-- after
CREATE TYPE status AS ENUM ('pending', 'completed');
CREATE TABLE tasks (id int, status status DEFAULT 'completed');
