"""The public HTML pages (home, units, compare, drill-down, disclosure) and their Chinese/English text.

Pages read through ``ledger.read`` like the API does.
"""
