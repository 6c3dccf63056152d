"""Builds beyond one machine: the inputs split into shards, built apart, merged in order.

The engine that runs the shard builds (Dask here, or a job array: see
docs/cluster.md) only calls the ordinary build (``build --shard K``); the
merge is the store's (``store.merge``).
"""
