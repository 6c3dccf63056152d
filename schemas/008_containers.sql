-- Warehouse schema, version 8: containers (tar and zip files) and their members.
-- Each member holding data is a source of its own (source.path is
-- 'container!member', size and sha256 those of its bytes as stored); these
-- tables record the container and what became of every member.

CREATE TABLE container (
    container_id INTEGER PRIMARY KEY,
    path         TEXT NOT NULL,              -- as found under the paths given to `build`
    size         INTEGER NOT NULL,           -- bytes on disk
    sha256       TEXT NOT NULL,              -- of the bytes on disk
    kind         TEXT NOT NULL,              -- tar, zip
    compression  TEXT NOT NULL,              -- of the container as a whole: none, gzip, …
    node         TEXT,                       -- cluster node its members came from
    members      INTEGER NOT NULL DEFAULT 0, -- entries met, folders aside
    complete     INTEGER NOT NULL DEFAULT 0, -- 1: read to its end, every member accounted for
    error        TEXT,                       -- why it could not be read to its end
    loaded_at    TEXT NOT NULL,              -- UTC, ISO 8601
    tool_version TEXT NOT NULL,
    UNIQUE (sha256, size)
);

CREATE TABLE container_member (
    container_id INTEGER NOT NULL REFERENCES container (container_id),
    member       TEXT NOT NULL,              -- path inside the container; inner!path in a nested one
    size         INTEGER,                    -- bytes as stored (NULL: not read)
    sha256       TEXT,                       -- of those bytes (NULL: not read)
    -- loaded, salvaged: its rows came from it; known: the same content was loaded
    -- before (source_id names it); companion: a dump's metadata or prelude (recorded
    -- with its .bson); empty: an empty collection; container: a container inside;
    -- unsafe: never read (a link, a device, a path leaving the container); failed
    status       TEXT NOT NULL,
    source_id    INTEGER REFERENCES source (source_id),
    note         TEXT,
    PRIMARY KEY (container_id, member)
) WITHOUT ROWID;
CREATE INDEX container_member_source ON container_member (source_id);
