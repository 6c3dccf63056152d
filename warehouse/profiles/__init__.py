"""Profiles: what a record means, as rows of the warehouse tables.

A profile maps one record (a document, or a chunk of an export file's rows)
to rows per table. The pipeline reaches a profile only through the small
interface in :mod:`.interface`; ``ctmixtures`` is the one profile today.
"""
