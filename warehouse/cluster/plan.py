"""How a build's inputs are split into shards: contiguous, in their order, of even size.

Contiguous runs of the input order keep a merge equal to one build over the
same inputs: the shard of the first inputs is merged first, so the first
version of a run read twice stays, as in one build.
"""

from __future__ import annotations

from ..sources import SourceFile


def plan_shards(sources: list[SourceFile], shards: int) -> list[list[SourceFile]]:
    """``sources`` in at most ``shards`` contiguous groups of about the same size on disk."""
    if not sources:
        return []
    sizes = [max(source.size(), 1) for source in sources]
    target = sum(sizes) / max(1, min(shards, len(sources)))
    groups: list[list[SourceFile]] = [[]]
    filled = 0.0
    for source, size in zip(sources, sizes):
        if groups[-1] and filled + size / 2 > target * len(groups) and len(groups) < shards:
            groups.append([])
        groups[-1].append(source)
        filled += size
    return groups
