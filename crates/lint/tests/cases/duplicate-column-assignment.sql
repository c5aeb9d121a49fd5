-- flagged: the same column assigned twice (case folding makes A and a the same)
UPDATE users SET email = lower(email), name = 'x', EMAIL = trim(email);
-- flagged: a whole column and one of its fields
UPDATE users SET address = ROW('x', 'y'), address.city = 'z';
-- flagged: INSERT column list, ON CONFLICT DO UPDATE
INSERT INTO users (id, email, email) VALUES (1, 'a', 'b');
INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET name = 'a', name = 'b';
-- flagged: CREATE TABLE, and a view whose unnamed outputs are all ?column?
CREATE TABLE t (a int, a text);
CREATE VIEW v AS SELECT 1, 2;
-- flagged: CREATE TABLE AS with two outputs named id
CREATE TABLE copy AS SELECT u.id, o.id FROM users u JOIN orders o ON o.user_id = u.id;
-- not flagged: different fields and elements, quoted "A" differs from a
UPDATE users SET address.city = 'x', address.zip = 'y';
UPDATE users SET tags[1] = 'a', tags[2] = 'b';
UPDATE users SET "A" = 1, a = 2;
-- not flagged: a view column list overrides duplicate select names
CREATE VIEW v2 (a, b) AS SELECT 1 AS a, 2 AS a;
-- not flagged: a plain SELECT may repeat names
SELECT 1 AS a, 2 AS a;
