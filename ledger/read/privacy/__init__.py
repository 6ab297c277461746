"""Personal data on publication: which payees and suppliers are natural persons, and hiding their names.

``rules`` reads the ``[privacy]`` section of ``sunshine.toml`` and classifies one name; ``redactor``
applies it to what the public reads (lists, rows, downloads, search, flags); ``report`` counts what
was hidden. Nothing is stored: the decision is taken when rows are read, so the signed log never changes.
"""
