"""What reads a built warehouse: export files, status, verify, report, Datasette, pandas."""
