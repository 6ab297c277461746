"""The open-data API under ``/api/v1``: one module per family of endpoints (data, downloads, search,
charts, the log, writes, admin). Handlers read through ``ledger.read`` and write through the importers
and ``ledger.review``; they never build SQL themselves.
"""
