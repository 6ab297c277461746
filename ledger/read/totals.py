"""The rollup summed over units, per batch, kept in process and topped up as batches land.

``rollup`` holds one row per batch, measure, unit, year, category and currency: at national
scale that is millions of rows, too many to sum on every request. Without the unit the same sums
fit in a few hundred rows per batch, kept in ``batch_total`` when the batch is published
(``ledger.store.derived.batch_totals``). Published batches are append-only (a correction is a new
batch that supersedes the old one), so each batch's sums are read from ``batch_total`` once, by its
index, the first time the batch is seen, and kept. Every call re-reads the short list of
batches, so a new import, a correction or a different database is noticed at once; a batch is
re-read if its status, sha256 or time changes (a restored backup reusing an id, for instance).
Sums are Python integers: exact to the fen.

``coverage`` says per fiscal year how many of the expected units have reported: missing is not zero,
and a year in which few units have reported is never shown as if it were the whole region. Who reported
is read the same way as the sums: each batch's units per measure and year, kept at publish in
``batch_coverage`` (``ledger.store.derived.batch_coverage``), read once per batch and process.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

from sqlalchemy import BigInteger, Connection, cast, func, select

from ledger.store import unit_events
from ledger.store.batches import current_pin, live
from ledger.store.derived import batch_coverage
from ledger.store.models import BatchCoverage, BatchTotal, ImportBatch, Rollup, Unit

_t = BatchTotal.__table__
_ib = ImportBatch.__table__
_lock = threading.Lock()
# engine URL → batch id → (identity of the batch, its rows)
_kept: dict[str, dict[int, tuple[tuple, list[tuple]]]] = {}
BATCHES_SQL = "SELECT id, status, sha256, created_at, supersedes_id FROM import_batch"
READ_CHUNK = 500  # batch ids per IN list when reading newly seen batches


def _batches(conn: Connection) -> list[tuple]:
    """Every batch (under ``pinned``: the batches in the log at the checkpoint, so later corrections drop out)."""
    cursor = conn.connection.driver_connection.cursor()  # one fixed statement: no need for SQLAlchemy here
    try:
        cursor.execute(BATCHES_SQL)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    pin = current_pin()
    return rows if pin is None else [b for b in rows if b[0] in pin.batches]


def batch_identity(conn: Connection) -> tuple:
    """Every batch as ``(id, status, sha256, time, supersedes)``, sorted: changes whenever a batch does."""
    return tuple(sorted((b[0], b[1], b[2], str(b[3]), b[4]) for b in _batches(conn)))


def live_ids(conn: Connection) -> list[int]:
    """Ids of the live (not superseded) batches, in order."""
    batches = _batches(conn)
    superseded = {b[4] for b in batches if b[4] is not None}
    return sorted(b[0] for b in batches if b[0] not in superseded)


def any_superseded(conn: Connection) -> bool:
    """Whether a correction has superseded any batch (if not, every published row is live)."""
    return any(b[4] is not None for b in _batches(conn))


def live_totals(conn: Connection) -> list[tuple[str, int, str, str, int, int]]:
    """``(measure, fiscal_year, category_code, currency, amount_fen, row_count)`` of every live batch.

    One tuple per batch and key: callers add them up. Reads the batch list every time and
    ``batch_total`` only for batches this process has not seen yet.
    """
    batches = _batches(conn)
    superseded = {b[4] for b in batches if b[4] is not None}
    kept = _per_batch(_kept, conn, batches, _read_totals)
    return [row for i, rows in kept.items() if i not in superseded for row in rows]


def _read_totals(conn: Connection, ids: list[int]) -> dict[int, list[tuple]]:
    fresh: dict[int, list[tuple]] = {i: [] for i in ids}
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start : start + READ_CHUNK]
        stmt = (  # in the order the GROUP BY over ``rollup`` gave them before ``batch_total`` (0013) kept them
            select(_t.c.batch_id, _t.c.measure, _t.c.fiscal_year, _t.c.category_code, _t.c.currency,
                   _t.c.amount_fen, _t.c.row_count)
            .where(_t.c.batch_id.in_(chunk))
            .order_by(_t.c.batch_id, _t.c.measure, _t.c.fiscal_year, _t.c.category_code, _t.c.currency)
        )
        for b, m, y, c, cur, amount, count in conn.execute(stmt):
            fresh[b].append((m, y, c, cur, int(amount), int(count)))
    return fresh


def _per_batch(store: dict, conn: Connection, batches: list[tuple], read) -> dict[int, Any]:
    """What ``read(conn, ids)`` gives for each of ``batches``, kept per engine in ``store`` and read only
    for the batches this process has not seen (or that changed: status, sha256, time). In the order kept."""
    ident = {b[0]: (b[1], b[2], str(b[3])) for b in batches}
    key = conn.engine.url.render_as_string(hide_password=True)
    with _lock:
        kept = store.setdefault(key, {})
        for gone in kept.keys() - ident.keys() if current_pin() is None else ():  # pinned: a subset, keep the rest
            del kept[gone]
        stale = [i for i, who in ident.items() if i not in kept or kept[i][0] != who]
    fresh = read(conn, stale)
    with _lock:
        for i, value in fresh.items():
            kept[i] = (ident[i], value)
        return {i: value for i, (_, value) in kept.items() if i in ident}


def rollup_sums(conn: Connection, *, years: list[int] | None = None, unit_ids: list[int] | None = None,
                category_codes: list[str] | None = None, currency: str = "CNY") -> list[tuple[str, int, int, str, int]]:
    """``(measure, unit_id, fiscal_year, category_code, fen)`` of live rollups: the one read behind the
    disclosure reports, the charts and the pages, so they cannot disagree about a figure."""
    r = Rollup.__table__
    q = (
        select(r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, cast(func.sum(r.c.amount_fen), BigInteger))
        .where(live(r.c.batch_id), r.c.currency == currency)
        .group_by(r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code)
    )
    if years is not None:
        q = q.where(r.c.fiscal_year.in_(years))
    if unit_ids is not None:
        q = q.where(r.c.unit_id.in_(unit_ids))
    if category_codes is not None:
        q = q.where(r.c.category_code.in_(category_codes))
    return [tuple(row) for row in conn.execute(q)]


MISSING_LISTED = 100  # missing unit codes listed per year; ``missing`` always counts them all


_kept_coverage: dict[tuple, tuple[tuple, dict]] = {}
COVERAGE_KEPT = 64  # answers kept per process (engine, measures, years, units): a handful of shapes in practice


def _reported_units(conn: Connection, measures: tuple[str, ...], ident: tuple) -> dict[int, set[int]]:
    """Per fiscal year the ids of units with a live rollup row of ``measures`` in it, from the units each
    batch has rows for (``batch_coverage``, kept at publish): each batch's read once per process, like its
    totals, and the sets again only when the list of batches changes (a page asks several times)."""
    key = ("pairs", conn.engine.url.render_as_string(hide_password=True), tuple(sorted(measures)))
    with _lock:
        kept = _kept_coverage.get(key)
    if kept is not None and kept[0] == ident:
        return kept[1]["pairs"]
    batches = _batches(conn)
    pin = current_pin()
    if pin is None:
        superseded = {b[4] for b in batches if b[4] is not None}
        live_set = {b[0] for b in batches if b[0] not in superseded}
    else:  # as ``live`` reads it under a pin
        live_set = set(pin.live)
    units = _batch_units(conn, batches)
    by_year: dict[int, set[int]] = {}
    for batch_id in live_set:
        for (measure, year), ids in units.get(batch_id, {}).items():
            if measure in measures:
                by_year.setdefault(year, set()).update(ids)
    with _lock:
        _kept_coverage[key] = (ident, {"pairs": by_year})
    return by_year


# engine URL → batch id → (identity of the batch, {(measure, year): unit ids})
_kept_units: dict[str, dict[int, tuple[tuple, dict[tuple[str, int], array]]]] = {}


def _batch_units(conn: Connection, batches: list[tuple]) -> dict[int, dict[tuple[str, int], array]]:
    """The units of each of ``batches`` per measure and year (``batch_coverage``), read for the batches
    this process has not seen (or that changed: status, sha256, time)."""
    return _per_batch(_kept_units, conn, batches, _read_units)


def _read_units(conn: Connection, ids: list[int]) -> dict[int, dict[tuple[str, int], array]]:
    fresh: dict[int, dict[tuple[str, int], array]] = {i: {} for i in ids}
    c = BatchCoverage.__table__
    for start in range(0, len(ids), READ_CHUNK):
        for b, m, y, blob in conn.execute(select(c.c.batch_id, c.c.measure, c.c.fiscal_year, c.c.unit_ids)
                                          .where(c.c.batch_id.in_(ids[start : start + READ_CHUNK]))):
            fresh[b][(m, int(y))] = batch_coverage.unpack(blob)
    return fresh


def coverage(conn: Connection, measures: tuple[str, ...] = ("actual",), years: list[int] | None = None,
             unit_codes: list[str] | None = None) -> dict[int, dict]:
    """Per fiscal year: ``{reported, expected, missing, complete, missing_units, basis}`` for ``measures``.

    Expected units (``basis``): with a unit register loaded (a live ``units`` batch) every unit the
    ledger knows (the register and units admitted with ``--new-units``), else (``reporters``) every unit
    that has ever reported. A unit is expected from the first year it reported (a unit that never
    reported, in every year) until the year it is retired (``sunshine units retire``); a merged unit
    counts as its successor. A unit has reported a year when it has a live row of ``measures`` for it,
    in any category. ``complete`` means every expected unit reported. ``unit_codes`` narrows both sides
    to these units (as counted after merges). Years default to every year with a row of ``measures``.

    The answer is kept per list of batches, register of merges and retirements and number of units
    (units change only by imports, which are batches): working it out takes set operations over every unit per year.
    """
    reg = unit_events.read(conn)
    batches = batch_identity(conn)
    ident = (batches, tuple(sorted(reg.successor.items())), tuple(sorted(reg.retired.items())),
             tuple(conn.execute(select(func.count(Unit.id), func.max(Unit.id))).one()))
    key = (conn.engine.url.render_as_string(hide_password=True), tuple(sorted(measures)),
           None if years is None else tuple(sorted(set(years))), None if unit_codes is None else tuple(sorted(unit_codes)))
    with _lock:
        kept = _kept_coverage.get(key)
    if kept is None or kept[0] != ident:
        kept = (ident, _coverage(conn, measures, years, unit_codes, reg, ident))
        with _lock:
            if len(_kept_coverage) >= COVERAGE_KEPT:
                _kept_coverage.pop(next((k for k in _kept_coverage if k[0] not in ("pairs", "base")), None), None)
            _kept_coverage[key] = kept
    return {y: {**c, "missing_units": list(c["missing_units"])} for y, c in kept[1].items()}  # callers may edit


def _base(conn: Connection, measures: tuple[str, ...], reg: unit_events.Register, ident: tuple) -> dict:
    """Who reported which year (after merges), the units first seen each year and the expected universe:
    kept per ``ident`` like the answers, so a cut by one unit does not walk every unit again. Unit codes are
    read only when an answer names units (``_codes``)."""
    key = ("base", conn.engine.url.render_as_string(hide_password=True), tuple(sorted(measures)))
    with _lock:
        kept = _kept_coverage.get(key)
    if kept is not None and kept[0] == ident:
        return kept[1]
    b = ImportBatch.__table__
    reported: dict[int, set[int]] = {}
    first: dict[int, set[int]] = {}  # year → the units that first reported in it
    seen: set[int] = set()
    merged = {u: reg.final(u) for u in reg.successor}
    for year, ids in sorted(_reported_units(conn, measures, ident[0]).items()):  # set operations: 50,000 pairs at 1M
        us = (ids - merged.keys()) | {merged[u] for u in ids & merged.keys()} if merged else ids  # never edited
        reported[year] = us
        first[year] = us - seen  # years ascending
        seen |= first[year]
    has_register = conn.execute(select(b.c.id).where(b.c.kind == "units", live(b.c.id)).limit(1)).first() is not None
    universe = {i for i, in _unit_rows(conn, "SELECT id FROM unit")} - reg.successor.keys() if has_register else seen
    base = {"reported": reported, "first": first, "has_register": has_register, "universe": universe}
    with _lock:
        _kept_coverage[key] = (ident, base)
    return base


def _unit_rows(conn: Connection, sql: str) -> list[tuple]:
    """Every unit's columns of ``sql``, from the driver's cursor: a Row per unit costs more than the read."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _codes(conn: Connection, base: dict) -> dict[int, str]:
    """Unit id → code, read the first time an answer names units (missing ones, or a cut by unit), then kept
    in ``base``: units are append-only and never change code, and ``base`` goes with the number of units."""
    if "code_of" not in base:
        base["code_of"] = dict(_unit_rows(conn, "SELECT id, code FROM unit"))
    return base["code_of"]


def _coverage(conn: Connection, measures: tuple[str, ...], years: list[int] | None, unit_codes: list[str] | None,
              reg: unit_events.Register, ident: tuple) -> dict[int, dict]:
    base = _base(conn, measures, reg, ident)
    reported, first, universe = base["reported"], base["first"], base["universe"]
    if unit_codes is not None:
        if "id_of" not in base:  # only a cut by unit needs it: worked out once, then kept with the rest
            base["id_of"] = {c: i for i, c in _codes(conn, base).items()}
        keep = {reg.final(base["id_of"][c]) for c in set(unit_codes) if c in base["id_of"]}
        universe = universe & keep
        reported = {y: us & keep for y, us in reported.items()}
    basis = "register" if base["has_register"] else "reporters"
    out = {}
    for year in sorted(set(reported) if years is None else set(years)):
        # set by set, not unit by unit: those first seen later, and those retired by then, are not expected
        later = set().union(*(us for y, us in first.items() if y > year))
        gone = {u for u, y in reg.retired.items() if y <= year}
        expected = universe - later - gone if later or gone else universe
        got = reported.get(year, set()) & expected
        missing = sorted(map(_codes(conn, base).__getitem__, expected - got)) if len(got) < len(expected) else []
        out[year] = {"fiscal_year": year, "reported": len(got), "expected": len(expected), "missing": len(missing),
                     "complete": bool(expected) and not missing, "missing_units": missing[:MISSING_LISTED],
                     "basis": basis}
    return out


def latest_complete_year(cov: dict[int, dict]) -> int | None:
    """The newest year in ``coverage`` whose every expected unit reported, or None."""
    done = [y for y, c in cov.items() if c["complete"]]
    return max(done) if done else None
