"""Procurement importers: OCDS (releases, records, packages) and published procurement tables."""
