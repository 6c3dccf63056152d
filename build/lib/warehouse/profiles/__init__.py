"""Profiles: what a record means, as rows of the warehouse tables.

A profile maps one record (a document, or a row of an export file) to rows per
table. It is a pure function of its input: no SQLite here, so it can be
tested alone.
"""
