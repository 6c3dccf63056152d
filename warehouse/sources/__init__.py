"""The sources stage: find input files, tell their identity, undo their compression."""

from .compression import (DECOMPRESSION_ERRORS, OpenedSource, open_source, open_stream,
                          sniff_compression)
from .files import SourceFile, file_identity, find_sources

__all__ = ["DECOMPRESSION_ERRORS", "OpenedSource", "SourceFile", "file_identity", "find_sources",
           "open_source", "open_stream", "sniff_compression"]
