"""The operator's side of the store: backups and restores (``backup``), PostgreSQL's year partitions
of the entry tables (``partitions``)."""
