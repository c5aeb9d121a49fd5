-- Issue 10: an index access method and an operator class whose names need quotes are quoted.
-- before
CREATE ACCESS METHOD "My AM" TYPE INDEX HANDLER gisthandler;
CREATE SCHEMA "Ops;x";
CREATE OPERATOR CLASS "Ops;x"."box ops" FOR TYPE box USING "My AM" AS
    OPERATOR 3 &&,
    FUNCTION 1 gist_box_consistent(internal, box, smallint, oid, internal),
    FUNCTION 2 gist_box_union(internal, internal),
    FUNCTION 5 gist_box_penalty(internal, internal, internal),
    FUNCTION 6 gist_box_picksplit(internal, internal),
    FUNCTION 7 gist_box_same(box, box, internal);
CREATE TABLE t (b box);
-- after
CREATE ACCESS METHOD "My AM" TYPE INDEX HANDLER gisthandler;
CREATE SCHEMA "Ops;x";
CREATE OPERATOR CLASS "Ops;x"."box ops" FOR TYPE box USING "My AM" AS
    OPERATOR 3 &&,
    FUNCTION 1 gist_box_consistent(internal, box, smallint, oid, internal),
    FUNCTION 2 gist_box_union(internal, internal),
    FUNCTION 5 gist_box_penalty(internal, internal, internal),
    FUNCTION 6 gist_box_picksplit(internal, internal),
    FUNCTION 7 gist_box_same(box, box, internal);
CREATE TABLE t (b box);
CREATE INDEX "t;b" ON t USING "My AM" (b "Ops;x"."box ops");
