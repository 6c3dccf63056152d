-- Warehouse schema, version 6: files that failed to load, remembered.
-- A failed file loads nothing (its transaction is rolled back); this row,
-- written after the rollback, keeps what went wrong so that `warehouse
-- status` and `warehouse report` can tell later. One row per file content;
-- a new attempt on the same content updates it.
CREATE TABLE failure (
    failure_id   INTEGER PRIMARY KEY,
    path         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    node         TEXT,
    error        TEXT NOT NULL,             -- one line: path:line: message or path@offset: message
    failed_at    TEXT NOT NULL,             -- UTC, ISO 8601, the latest attempt
    tool_version TEXT NOT NULL,
    UNIQUE (path, sha256)
);
