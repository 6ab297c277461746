"""The one read path: dataset descriptions, lists and downloads, aggregates, totals, disclosure reports
and the figures behind charts and pages. The API, the charts and the CLI read only through here.

Reads only: imports ``ledger.store`` and ``ledger.money``; never the writers in ``ledger.rules``,
``ledger.review.workflow`` or ``ledger.log``.
"""
