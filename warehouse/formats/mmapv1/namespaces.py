"""The namespace file ``<db>.ns``: a fixed-size hash table of 628-byte nodes.

Every node whose hash is not 0 holds a namespace (collection, index,
``$freelist``, ``$extra``) and its details. The table is scanned whole rather
than probed: listing needs every name, and a scan does not depend on the
table's size option (``--nssize``), only on the file's size.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError

from .layout import (DETAILS_OFFSET, NAME_SIZE, NODE_SIZE, NamespaceDetails, namespace_hash,
                     node_count)

_HASH = struct.Struct("<i")


@dataclass(frozen=True)
class Namespace:
    """One used node of a namespace file."""

    name: str  # the full namespace, "db.coll" or "db.coll.$_id_"
    path: Path  # the .ns file
    node_offset: int  # byte offset of the node in that file
    details: NamespaceDetails

    @property
    def details_offset(self) -> int:
        return self.node_offset + DETAILS_OFFSET


def is_collection(name: str) -> bool:
    """Whether a namespace holds documents (``NamespaceString::normal``).

    Index namespaces (``coll.$_id_``), ``$freelist`` and ``$extra`` carry a
    ``$``; the old master/slave oplog ``local.oplog.$main`` is the exception.
    """
    return "$" not in name or name.startswith("local.oplog.")


def _node(mm: mmap.mmap, path: Path, offset: int) -> Namespace | str:
    """The namespace in a used node, or why the node was skipped."""
    (stored,) = _HASH.unpack_from(mm, offset)
    raw = mm[offset + 4: offset + 4 + NAME_SIZE]
    end = raw.find(b"\0")
    if end <= 0:
        return f"{path}@{offset}: namespace node skipped: its name is not NUL-terminated"
    name = raw[:end]
    # A node whose hash does not match its name cannot be found by mongod either.
    if namespace_hash(name) != stored:
        return (f"{path}@{offset}: namespace node skipped: its hash 0x{stored & 0xFFFFFFFF:08x}"
                f" does not match its name {name!r} (a damaged node)")
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return f"{path}@{offset}: namespace node skipped: its name {name!r} is not UTF-8"
    return Namespace(text, path, offset, NamespaceDetails.parse(mm, offset + DETAILS_OFFSET))


def _used(mm: mmap.mmap, count: int) -> list[int]:
    """Indexes of the nodes whose hash is not 0, found at C speed (most slots are empty).

    The hashes are viewed as native ints: only "is it zero" is asked, which
    holds in any byte order.
    """
    with memoryview(mm) as whole, whole[:count * NODE_SIZE] as nodes, \
            nodes.cast("i") as ints, ints[::NODE_SIZE // 4] as hashes:
        return [i for i, h in enumerate(hashes.tolist()) if h]


def read_namespaces(path: Path) -> tuple[list[Namespace], list[str]]:
    """Every namespace of a ``.ns`` file, with a warning line per skipped node.

    A file that cannot be opened or is too small for one node raises
    ``WarehouseError``.
    """
    try:
        with open(path, "rb") as file:
            size = file.seek(0, 2)
            if size < NODE_SIZE:
                raise WarehouseError(
                    f"namespace file of {size} bytes: too small for one {NODE_SIZE}-byte node",
                    path=str(path), offset=0)
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                found = [_node(mm, path, i * NODE_SIZE) for i in _used(mm, node_count(size))]
    except OSError as exc:
        raise WarehouseError(f"cannot read the namespace file: {exc.strerror}",
                             path=str(path)) from exc
    namespaces = [n for n in found if isinstance(n, Namespace)]
    warnings = [n for n in found if isinstance(n, str)]
    return namespaces, warnings
