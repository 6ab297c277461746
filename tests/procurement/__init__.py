"""Procurement and OCDS imports from real publishers."""
