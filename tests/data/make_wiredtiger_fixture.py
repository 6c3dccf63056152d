"""Write ``wiredtiger-11.3.1.tar.xz``: MongoDB-like dbpaths in the 4.4+ format.

``dbpath/`` is a clean copy; ``unclean/`` holds ``unclean_specs()`` as of its
last checkpoint, and ``unclean_later()`` committed to the journal only.

Needs a ``wt`` of WiredTiger 11.3.1 (MongoDB 7.0/8.0's engine) built with its
snappy and zstd compressors, e.g. from PyPI's ``wiredtiger==11.3.1`` source::

    cmake -G Ninja -DENABLE_PYTHON=0 -DENABLE_STATIC=1 -DENABLE_SHARED=0 \\
      -DHAVE_BUILTIN_EXTENSION_SNAPPY=1 -DHAVE_BUILTIN_EXTENSION_ZSTD=1 .. && ninja wt
    WIREDTIGER_WT=/path/to/wt python tests/data/make_wiredtiger_fixture.py

The documents are ``fixture_wt11_specs()`` of ``tests/wiredtiger_helpers.py``;
zstd is WiredTiger's own here (no conversion).
"""

from __future__ import annotations

import os
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

from warehouse.demo.wiredtiger_writer import (WT_ENVIRONMENT, append_after_checkpoint,  # noqa: E402
                                         write_dbpath)
from wiredtiger_helpers import (FIXTURE_WT11, fixture_wt11_specs, unclean_later,  # noqa: E402
                                unclean_specs)


def main() -> None:
    if not os.environ.get(WT_ENVIRONMENT):
        sys.exit(f"set {WT_ENVIRONMENT} to a wt of WiredTiger 11.3.1")
    with tempfile.TemporaryDirectory() as scratch:
        dbpath = Path(scratch) / "dbpath"
        write_dbpath(dbpath, fixture_wt11_specs(), compressor="zstd")
        unclean = Path(scratch) / "unclean"
        written = write_dbpath(unclean, unclean_specs(), compressor="zstd")
        append_after_checkpoint(unclean, written["sim.runs"], unclean_later())
        with tarfile.open(FIXTURE_WT11, "w:xz") as archive:
            archive.add(dbpath, arcname="dbpath")
            archive.add(unclean, arcname="unclean")
    print(f"wrote {FIXTURE_WT11} ({FIXTURE_WT11.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
