-- Warehouse schema, version 11: MongoDB data directories (a server's --dbpath,
-- MMAPv1 or WiredTiger) read without a server. A data directory is recorded
-- like a container (kind 'mongodb-mmapv1' or 'mongodb-wiredtiger', its
-- identity that of all its files); each collection is a member named
-- 'db.collection' (loaded as a source, format 'mongodb-<engine>'), and the
-- documents of its system.* collections are kept in the member's note
-- (status 'metadata'), never loaded as data.

-- What reading it said without leaving anything out: an unclean copy, a
-- journal written after the last checkpoint (one line each).
ALTER TABLE container ADD COLUMN warnings TEXT;
