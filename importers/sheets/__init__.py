"""Reading the files people publish: sources (CSV, XLSX, sheets), cells, column mapping, encodings
by evidence, and the safety limits on hostile files. Knows nothing about ledger kinds.
"""
