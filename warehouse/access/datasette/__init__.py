"""Datasette metadata for the warehouse: ``metadata.yml`` beside this file."""

from pathlib import Path

METADATA = Path(__file__).with_name("metadata.yml")
