"""Tables kept from the published rows when a batch is published, for reading fast: the search texts
(``search_index``) and the flag bases (``flag_basis``). Rebuilt from rows; never the record itself.
"""
