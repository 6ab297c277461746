"""The open-data API over real HTTP: reads, errors, auth, hardening, schema fuzzing, streams, search, log."""
