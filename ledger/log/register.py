"""What the log commits to beyond the published rows: the unit register, and the rollups derived from rows.

**Units.** Every published row points at a unit by id, so swapping two units' codes (or renaming
one) would move figures between departments without touching a row. Each batch manifest commits
to the register as it stands after the publish (``units_sha256`` and ``unit_count`` over id, code,
name, parent, level, region and kind of every unit); when the register changed, a CRC-32 per unit is
stored beside it (``log_row_digest``, table ``unit``) so ``sunshine verify`` can name the unit.

The register's lines have a form (``units_v`` in the manifest): form 1 (id … region; leaves written
before the unit kind existed carry no ``units_v``) and form 2 (form 1 and ``kind``, every leaf from now
on). Verify reads the register in the form of the leaf it compares with, so old leaves still verify and
a kind changed after a form-2 leaf is named.

**Unit events.** A merge moves a unit's figures into another's totals; a retirement stops counting it
missing. Each ``unit_event`` row is a leaf of its own (``event: "unit"``: kind, unit and successor ids,
year, actor, the note's SHA-256, time), so a merge slipped in, altered or removed behind the log's back
is named by ``sunshine verify``, which also names any event without its leaf (events are never logged
late: that would launder one slipped in behind the log's back).

**Rollups.** ``rollup`` and ``reception_persons_rollup`` are sums of published rows kept at
publish time for fast aggregates; verify recomputes them from the rows and compares (and the tables kept
beside them: ``batch_total``, ``batch_coverage``, ``batch_name``).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from array import array

from sqlalchemy import Connection, func, literal, select

from ledger.log.canonical import MANIFEST_VERSION, pack_locator, row_line, unpack_locator, utc_seconds
from ledger.store.derived import batch_coverage, batch_names, batch_totals
from ledger.store.models import (
    BudgetLine,
    ExpenseEntry,
    LogLeaf,
    LogRowDigest,
    ReceptionPersonsRollup,
    Rollup,
    Unit,
    UnitEvent,
)

UNIT_FORMS = {"1": ("id", "code", "name", "parent_id", "level", "region"),
              "2": ("id", "code", "name", "parent_id", "level", "region", "kind")}
UNIT_FORM = "2"  # the form new leaves commit to


def unit_lines(conn: Connection, form: str = UNIT_FORM) -> tuple[list[int], list[bytes]]:
    """The unit register as canonical lines of ``form`` (``["unit","3","U1","市财政局",null,…]``), by id."""
    cols = [Unit.__table__.c[c] for c in UNIT_FORMS[form]]
    ids, lines = [], []
    for row in conn.execute(select(*cols).order_by(Unit.id)):
        ids.append(row[0])
        lines.append(row_line("unit", row).encode())
    return ids, lines


def _digest(lines: list[bytes]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line + b"\n")
    return h.hexdigest()


def last_units_leaf(conn: Connection) -> tuple[int, dict] | None:
    """The newest batch leaf that commits to the unit register: ``(leaf index, manifest)``."""
    q = (select(LogLeaf.leaf_index, LogLeaf.manifest).where(LogLeaf.event.in_(("import", "correction")))
         .order_by(LogLeaf.leaf_index.desc()))
    for index, text in conn.execute(q):
        try:
            manifest = json.loads(text)
        except ValueError:
            continue
        if "units_sha256" in manifest:
            return index, manifest
    return None


def units_commitment(conn: Connection, batch_id: int) -> dict:
    """The register's SHA-256 and count for a batch manifest; stores a unit locator when the register changed.

    The form is ``UNIT_FORM``; form 1 writes no ``units_v`` (the manifests written before forms existed).
    """
    form = UNIT_FORM
    ids, lines = unit_lines(conn, form)
    sha = _digest(lines)
    last = last_units_leaf(conn)
    if last is None or last[1].get("units_sha256") != sha:  # a new form changes the lines too
        blob = pack_locator(array("q", ids), array("I", map(zlib.crc32, lines)))
        conn.execute(LogRowDigest.__table__.insert().values(batch_id=batch_id, table_name="unit", chunk_no=0,
                                                            row_count=len(ids), digests=blob))
    return {"units_sha256": sha, "unit_count": str(len(ids))} | ({} if form == "1" else {"units_v": form})


def check_units(conn: Connection, report) -> None:
    """The register now must be the one the latest ``units`` leaf commits to; name the first unit that is not."""
    last = last_units_leaf(conn)
    if last is None:  # a log from before manifests carried the register: nothing to compare yet
        return
    index, stored = last
    form = str(stored.get("units_v", "1"))
    if form not in UNIT_FORMS:
        report.add("units-form-unknown", f"leaf {index} commits to the unit register in form {form!r}, which this "
                   "code does not know", leaf_index=index, table="unit")
        return
    ids, lines = unit_lines(conn, form)  # the columns that leaf committed to, no more
    if stored.get("units_sha256") == _digest(lines) and stored.get("unit_count") == str(len(ids)):
        return
    row = conn.execute(select(LogRowDigest.row_count, LogRowDigest.digests).where(LogRowDigest.table_name == "unit")
                       .order_by(LogRowDigest.batch_id.desc()).limit(1)).first()
    was = {} if row is None else unpack_locator(row[1], row[0])
    now = dict(zip(ids, map(zlib.crc32, lines), strict=True))
    codes = dict(zip(ids, (json.loads(x)[2] for x in lines), strict=True))
    for unit_id in sorted(set(was) | set(now)):
        if unit_id not in now:
            what, message = "unit-deleted", f"unit {unit_id} was deleted after leaf {index}"
        elif unit_id not in was:
            what, message = "unit-added", f"unit {unit_id} ({codes[unit_id]}) was added outside a publish after leaf {index}"
        elif was[unit_id] != now[unit_id]:
            what, message = "unit-changed", f"unit {unit_id} (now code {codes[unit_id]}) no longer matches leaf {index}"
        else:
            continue
        report.add(what, message, leaf_index=index, table="unit", row_id=unit_id)
        return
    report.add("units-changed", f"the unit register no longer matches leaf {index}", leaf_index=index, table="unit")


def _expected_rollups(conn: Connection) -> dict[tuple, tuple[int, int]]:
    e, b = ExpenseEntry.__table__, BudgetLine.__table__
    out: dict[tuple, tuple[int, int]] = {}
    actual = select(e.c.batch_id, literal("actual"), e.c.unit_id, e.c.fiscal_year, e.c.category_code, e.c.currency,
                    func.sum(e.c.amount_fen), func.count()).group_by(
        e.c.batch_id, e.c.unit_id, e.c.fiscal_year, e.c.category_code, e.c.currency)
    budget = select(b.c.batch_id, literal("budget_") + b.c.stage, b.c.unit_id, b.c.fiscal_year, b.c.category_code,
                    b.c.currency, func.sum(b.c.amount_fen), func.count()).group_by(
        b.c.batch_id, b.c.stage, b.c.unit_id, b.c.fiscal_year, b.c.category_code, b.c.currency)
    for q in (actual, budget):
        for *key, amount, count in conn.execute(q):
            out[tuple(key)] = (int(amount), int(count))
    return out


def check_rollups(conn: Connection, report) -> None:
    """Recompute ``rollup``, ``batch_total`` (the rollup over units), ``batch_coverage`` (its units per measure
    and year), ``batch_name`` (the payees and suppliers) and ``reception_persons_rollup`` from the published
    rows; name the first difference."""
    want = _expected_rollups(conn)
    r = Rollup.__table__
    have = {(row[0], row[1], row[2], row[3], row[4], row[5]): (int(row[6]), int(row[7])) for row in conn.execute(
        select(r.c.batch_id, r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, r.c.currency,
               r.c.amount_fen, r.c.row_count))}
    report.rollups_checked += len(have)
    for key in sorted(set(want) | set(have), key=str):
        if want.get(key) != have.get(key):
            batch, measure, unit, year, category, _ = key
            report.add("rollup-changed", f"rollup of batch {batch} ({measure}, unit {unit}, {year}, {category}) is "
                       f"{have.get(key)} but the rows sum to {want.get(key)} (amount fen, rows)",
                       table="rollup", batch_id=batch)
            return
    want_t, have_t = batch_totals.expected(have), batch_totals.stored(conn)  # the rollup over units, kept at publish
    for key in sorted(set(want_t) | set(have_t), key=str):
        if want_t.get(key) != have_t.get(key):
            batch, measure, year, category, currency = key
            report.add("rollup-changed", f"batch total of batch {batch} ({measure}, {year}, {category}, {currency}) is "
                       f"{have_t.get(key)} but its rollup sums to {want_t.get(key)} (amount fen, rows)",
                       table="batch_total", batch_id=batch)
            return
    want_c, have_c = batch_coverage.expected(have), batch_coverage.stored(conn)  # who reported, kept at publish
    for key in sorted(set(want_c) | set(have_c), key=str):
        if want_c.get(key) != have_c.get(key):
            batch, measure, year = key
            got, should = have_c.get(key, (None, ())), want_c.get(key, (None, ()))
            report.add("rollup-changed", f"batch coverage of batch {batch} ({measure}, {year}) lists {got[0]} units "
                       f"but its rollup has {should[0]} (units missing: {sorted(set(should[1]) - set(got[1]))[:5]}, "
                       f"extra: {sorted(set(got[1]) - set(should[1]))[:5]})", table="batch_coverage", batch_id=batch)
            return
    want_n, have_n = batch_names.expected(conn), batch_names.stored(conn)  # the names the redactor hides from
    for key in sorted(set(want_n) | set(have_n), key=str):
        if want_n.get(key) != have_n.get(key):
            batch, dataset, name, kind = key  # the name by a hash: a report may be shown to anyone
            digest = hashlib.sha256(name.encode()).hexdigest()[:12]
            report.add("rollup-changed", f"batch names of batch {batch} ({dataset}, name sha256 {digest}…, type "
                       f"{kind!r}) count {have_n.get(key)} rows but its rows have {want_n.get(key)}",
                       table="batch_name", batch_id=batch)
            return
    e, p = ExpenseEntry.__table__, ReceptionPersonsRollup.__table__
    want_p = {(row[0], row[1], row[2]): tuple(int(x) for x in row[3:]) for row in conn.execute(
        select(e.c.batch_id, e.c.unit_id, e.c.fiscal_year, func.sum(e.c.amount_fen), func.sum(e.c.persons), func.count())
        .where(e.c.category_code == "reception", e.c.persons > 0, e.c.currency == "CNY")
        .group_by(e.c.batch_id, e.c.unit_id, e.c.fiscal_year))}
    have_p = {(row[0], row[1], row[2]): tuple(int(x) for x in row[3:]) for row in conn.execute(
        select(p.c.batch_id, p.c.unit_id, p.c.fiscal_year, p.c.amount_fen, p.c.persons, p.c.row_count))}
    for key in sorted(set(want_p) | set(have_p), key=str):
        if want_p.get(key) != have_p.get(key):
            report.add("rollup-changed", f"reception persons rollup of batch {key[0]} (unit {key[1]}, {key[2]}) no "
                       "longer matches its rows", table="reception_persons_rollup", batch_id=key[0])
            return


UNIT_EVENT_FIELDS = ("kind", "unit_id", "successor_id", "fiscal_year", "actor", "note_sha256", "time")


def unit_event_manifest(event, actor_role: str | None) -> dict:
    """The manifest of a ``unit_event`` row (ids as strings, like every manifest; the note by its hash)."""
    return {
        "v": MANIFEST_VERSION,
        "event": "unit",
        "unit_event_id": str(event.id),
        "kind": event.kind,
        "unit_id": str(event.unit_id),
        "successor_id": None if event.successor_id is None else str(event.successor_id),
        "fiscal_year": None if event.fiscal_year is None else str(event.fiscal_year),
        "actor": event.actor,
        "actor_role": actor_role,
        "note_sha256": None if event.note is None else hashlib.sha256(event.note.encode()).hexdigest(),
        "time": utc_seconds(event.created_at),
    }


def logged_unit_events(conn: Connection) -> dict[str, tuple[int, dict]]:
    """``unit_event`` id → (leaf index, manifest) of every logged unit event."""
    out = {}
    for index, ref, text in conn.execute(select(LogLeaf.leaf_index, LogLeaf.ref_id, LogLeaf.manifest)
                                         .where(LogLeaf.event == "unit")):
        try:
            out[ref] = (index, json.loads(text))
        except ValueError:
            out[ref] = (index, {})
    return out


def check_unit_events(conn: Connection, report) -> None:
    """Every unit event must match its leaf; an event without one, or a leaf without its event, is named."""
    logged = logged_unit_events(conn)
    seen = set()
    for event in conn.execute(select(UnitEvent.__table__).order_by(UnitEvent.id)):
        seen.add(str(event.id))
        if str(event.id) not in logged:
            report.add("unit-event-not-logged", f"unit event {event.id} ({event.kind} of unit {event.unit_id}) is "
                       "recorded but not in the log", table="unit_event", row_id=event.id)
            continue
        index, stored = logged[str(event.id)]
        now = unit_event_manifest(event, stored.get("actor_role"))
        changed = [f for f in UNIT_EVENT_FIELDS if now[f] != stored.get(f)]
        if changed:
            report.add("unit-event-changed", f"unit_event row {event.id}: {', '.join(changed)} no longer match "
                       f"leaf {index}", leaf_index=index, table="unit_event", row_id=event.id)
    for ref, (index, _) in sorted(logged.items(), key=lambda kv: kv[1][0]):
        if ref not in seen:
            report.add("unit-event-deleted", f"unit event {ref} is in leaf {index} but no longer in the store",
                       leaf_index=index, table="unit_event", row_id=int(ref) if ref.isdigit() else None)
