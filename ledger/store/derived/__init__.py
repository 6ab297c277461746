"""Tables kept from the published rows when a batch is published, for reading fast: the search texts
(``search_index``), the flag bases (``flag_basis``), each batch's totals over units (``batch_totals``),
its units per measure and year (``batch_coverage``) and its payees and suppliers (``batch_names``).
Rebuilt from rows; never the record itself.
"""
