"""Which filesystem holds the warehouse, and whether it is a network one.

SQLite's WAL mode keeps its index in shared memory (the ``-shm`` file,
mapped by every connection): processes on other hosts do not share it, and
the byte-range locks of NFS, Lustre, GPFS, BeeGFS or CIFS are unreliable, so
a WAL warehouse written there can be corrupted. The build therefore works on
a local copy there (``localcopy.py``).

How it is told: ``os.statvfs`` does not give the filesystem type at all, and
``statfs(2)`` through ctypes gives a magic number only (FUSE is one number
for sshfs and a local FUSE alike) with a struct layout that differs between
architectures. The kernel's mount table, ``/proc/self/mountinfo``, names the
type ("nfs4", "lustre", "fuse.sshfs") in plain text, as this process sees it
(bind mounts and containers included): the mount whose mount point is the
longest prefix of the real path is the one holding the file. Where there is
no such table (not Linux), the filesystem counts as local.
"""

from __future__ import annotations

import os
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")

# Types whose locking or shared memory cannot be trusted between hosts.
NETWORK = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "coda", "9p", "davfs",
    "lustre", "gpfs", "beegfs", "ceph", "glusterfs", "ocfs2", "gfs2", "orangefs", "pvfs2",
    "panfs", "wekafs", "quobyte",
})
# FUSE filesystems are named fuse.<subtype>; these reach other hosts.
NETWORK_FUSE = frozenset({
    "sshfs", "glusterfs", "ceph", "ceph-fuse", "s3fs", "rclone", "gcsfuse", "davfs2",
    "juicefs", "beegfs", "lustre", "goofys", "blobfuse", "blobfuse2", "cvmfs",
})


def is_network(fstype: str | None) -> bool:
    if fstype is None:
        return False
    if fstype.startswith("fuse."):
        return fstype.removeprefix("fuse.") in NETWORK_FUSE
    return fstype in NETWORK


def filesystem_type(path: str | Path, mountinfo: Path | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (an existing file or folder)."""
    try:
        table = (mountinfo or MOUNTINFO).read_text(errors="replace")
    except OSError:
        return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in table.splitlines():
        mount = _parse(line)
        if mount is None:
            continue
        point, fstype = mount
        # >=: of two mounts on one point, the later one (listed last) is seen
        if _contains(point, target) and (best is None or len(point) >= best[0]):
            best = (len(point), fstype)
    return None if best is None else best[1]


def _parse(line: str) -> tuple[str, str] | None:
    """(mount point, type) of a mountinfo line: ``id parent major:minor root point
    options [optional fields...] - type source super-options``."""
    fields = line.split(" ")
    try:
        separator = fields.index("-", 6)
        return _unescape(fields[4]), fields[separator + 1]
    except (ValueError, IndexError):
        return None


def _unescape(field: str) -> str:
    # the kernel writes space, tab, newline and backslash as octal escapes
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, char)
    return field


def _contains(point: str, target: str) -> bool:
    return point == "/" or target == point or target.startswith(point.rstrip("/") + "/")
