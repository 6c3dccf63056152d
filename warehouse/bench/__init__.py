"""``make bench``: speed and memory of builds (``python -m warehouse.bench``)."""
