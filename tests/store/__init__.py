"""The store: migrations, append-only triggers, the signed log, tampering, backups, crashes, money."""
