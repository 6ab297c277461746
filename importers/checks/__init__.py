"""Checks an import runs before anything is written: probable duplicates, magnitude plausibility
against the unit's previous year, and reconciliation of published totals with their parts.
"""
