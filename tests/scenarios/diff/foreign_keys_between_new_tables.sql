-- New tables that reference each other in a cycle: tables first, then the keys.
-- before
-- after
CREATE TABLE departments (id int PRIMARY KEY, manager_id int);
CREATE TABLE employees (id int PRIMARY KEY, department_id int REFERENCES departments (id));
ALTER TABLE departments ADD FOREIGN KEY (manager_id) REFERENCES employees (id);
