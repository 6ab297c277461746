"""Partial results kept per chunk, folded as they come, so what a check keeps grows with its groups, not its rows.

A check that sums per figure (``importers.checks.magnitude``) or keeps each unit's first row
(``importers.checks.duplicates``) used to keep one partial frame per chunk and combine them at the
end: at 5M rows that was millions of partial rows (each chunk names most units again). ``compact``
folds the list into one frame whenever the partials pass twice what the last fold left (and at
least ``FOLD_ROWS``), so the rows kept stay within about twice the distinct groups, and each fold
costs about what it keeps. The ``reduce`` must be associative (reducing reduced parts together
with new ones gives what reducing all the raw parts gives): the result is then the same frame.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

FOLD_ROWS = 200_000  # partial rows kept at least before a fold (a fold of fewer is not worth it)


def compact(parts: list[pl.DataFrame], reduce: Callable[[list[pl.DataFrame]], pl.DataFrame]) -> list[pl.DataFrame]:
    """``parts``, or ``[reduce(parts)]`` once they hold more rows than twice the first one (the last fold)."""
    if len(parts) < 2:
        return parts
    held = sum(p.height for p in parts)
    if held <= max(FOLD_ROWS, 2 * parts[0].height):
        return parts
    return [reduce(parts)]
