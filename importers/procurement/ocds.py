"""``sunshine import ocds FILE``: OCDS files loaded as procurement, one contracting process counted once.

Reading and compiling are in ``ocds_read`` and ``ocds_compile``; this module holds the file against
the ledger:

- Identity is the ocid. A compiled state older than the one the ledger holds is held back
  (``ocds-release-stale``); the same release (``release_id`` and ``release_date``) is skipped.
- A newer state of a stored ocid is loaded as a new row, and a ``procurement_replacement`` link
  (replaced row, replacing row, ocid, batch) is appended in the same transaction: the older row is
  never rewritten and stops counting (``ledger.store.batches.live_procurement``).
- Amounts stay in their currency; the report totals them per currency, never across currencies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl

from importers.procurement.ocds_json import JsonRefused, sniff
from importers.procurement.ocds_read import OcdsResult, read_ocds

__all__ = ["OcdsResult", "import_file", "read_ocds", "totals_by_currency"]


def import_file(engine, path: str | Path, options, read=None):
    """Import an OCDS file as one batch (``sunshine import ocds FILE``): read, then the shared pipeline.

    Re-importing a file, or a package that overlaps an earlier one, adds nothing; a newer state of a
    known ocid replaces the stored one through a ``procurement_replacement`` link.
    """
    from importers.pipeline import FileMeta, Result, base_report, load_procurement
    from importers.problems import Problems
    from importers.reading import ReadOptions, fiscal_start
    from importers.sheets.safety import Limits, Refused, check_size
    from ledger.rules.fiscal import fiscal_year_expr

    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, "ocds", "")
    limits = getattr(read, "limits", None) or Limits.from_env()
    try:
        check_size(path, limits.max_text_bytes)
        try:
            layout = sniff(path)
        except JsonRefused:
            layout = None  # read_ocds reports it
        if layout != "jsonl":  # one JSON document is held whole while it is read: the smaller cap
            check_size(path, limits.max_json_bytes)
        meta = FileMeta.of(path, "ocds", encoding="utf-8")
        result = read_ocds(path, max_depth=limits.max_json_depth)
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, {}, problems) | {"status": "refused"})
    problems.extend(result.problems)
    try:
        meta.fiscal_start = fiscal_start(read or ReadOptions())
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, {}, problems) | {"status": "refused"})
    if meta.fiscal_start != 1 and result.frame.height:
        # the year of contract signature, else award, else tender start; unknown stays unknown
        when = pl.coalesce("contract_date", "award_date", "tender_date")
        result.frame = result.frame.with_columns(fiscal_year_expr(when, meta.fiscal_start).alias("fiscal_year"))
    frame, newer = _against_ledger(engine, result.frame, problems)
    stats = {"read": result.releases_read, "detail": frame.height}
    ocds = {"ocds": {"layout": result.layout, "documents": result.documents_read,
                     "releases": result.releases_read, "compiled": result.frame.height,
                     "ocids": result.frame["ocid"].n_unique(),
                     "totals_by_currency": totals_by_currency(result.frame)}}
    if frame.height == 0 and newer and not problems.count("error"):
        # every release in the file is older than what the ledger holds: nothing to load, nothing wrong
        return Result("unchanged", min(newer), base_report(meta, stats, problems) | {"status": "unchanged"} | ocds)
    replaced: list[int] = []
    options = dataclasses.replace(options, after_write=lambda conn, batch: replaced.extend(link_replacements(conn, batch)))
    out = load_procurement(engine, frame, problems, meta, options, stats)
    out.report |= ocds
    if replaced:
        out.report["ocds"]["replaced_records"] = len(replaced)
    return out


def link_replacements(conn, batch_id: int) -> list[int]:
    """Append a ``procurement_replacement`` link from every counted row of another batch with an ocid
    of ``batch_id`` and a release no newer than this batch's row. Returns the replaced row ids."""
    from sqlalchemy import and_, insert, select

    from ledger.store.batches import live_procurement
    from ledger.store.models import ProcurementRecord, ProcurementReplacement

    new = ProcurementRecord.__table__.alias("new_state")
    old = ProcurementRecord.__table__.alias("old_state")
    no_newer = (old.c.release_date.is_(None) | new.c.release_date.is_(None)
                | (old.c.release_date <= new.c.release_date))
    pairs = conn.execute(
        select(old.c.id, new.c.id, new.c.ocid)
        .select_from(new.join(old, and_(old.c.ocid == new.c.ocid, old.c.batch_id != new.c.batch_id)))
        .where(new.c.batch_id == batch_id, new.c.ocid.is_not(None), no_newer, live_procurement(old))
        .order_by(old.c.id)
    ).all()
    if pairs:
        conn.execute(insert(ProcurementReplacement), [
            {"replaced_id": o, "replacement_id": n, "ocid": ocid, "batch_id": batch_id} for o, n, ocid in pairs])
    return [o for o, _, _ in pairs]


def _against_ledger(engine, frame: pl.DataFrame, problems) -> tuple[pl.DataFrame, set[int]]:
    """Latest date wins across imports too: a compiled state older than the one counted is held back.

    A newer one is loaded and replaces the older (``ocds-ocid-updated`` names the row's batch).
    """
    from sqlalchemy import select

    from ledger.store.batches import live_procurement
    from ledger.store.db import reading
    from ledger.store.models import ProcurementRecord as P

    if frame.height == 0:
        return frame, set()
    stored: dict[str, list[tuple]] = {}
    ocids = frame["ocid"].unique().to_list()
    with reading(engine) as conn:
        for i in range(0, len(ocids), 5000):
            q = select(P.ocid, P.release_id, P.release_date, P.batch_id).where(
                P.ocid.in_(ocids[i:i + 5000]), live_procurement())
            for ocid, rid, when, batch in conn.execute(q):
                if when is not None and when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                stored.setdefault(ocid, []).append((rid, when, batch))
    stale, batches = [], set()
    for row in frame.filter(pl.col("ocid").is_in(list(stored))).iter_rows(named=True):
        mine = row["release_date"]
        others = [s for s in stored[row["ocid"]] if (s[0], s[1]) != (row["release_id"], mine)]
        newer = [s for s in others if s[1] is not None and mine is not None and s[1] > mine]
        if newer:
            stale.append(row["ocid"])
            batches.add(newer[0][2])
            problems.add("ocds-release-stale", row=row["source_row"], column="ocid", value=row["ocid"], severity="warning",
                         detail=f"release {newer[0][0]} of {newer[0][1].isoformat()} in batch {newer[0][2]}")
        elif others:
            problems.add("ocds-ocid-updated", row=row["source_row"], column="ocid", value=row["ocid"], severity="warning",
                         detail=f"release {others[0][0]} in batch {others[0][2]}")
    return (frame.filter(~pl.col("ocid").is_in(stale)) if stale else frame), batches


def totals_by_currency(frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Budget and contract totals in fen per currency: amounts in different currencies never add up.

    Records that state no amount have no currency: they are counted under ``"none"``.
    """
    out = frame.group_by("currency").agg(
        pl.col("budget_fen").sum().alias("budget_fen"), pl.col("contract_fen").sum().alias("contract_fen"),
        pl.len().alias("records"),
    ).sort("currency", nulls_last=True)
    return {r["currency"] or "none": {k: r[k] for k in ("budget_fen", "contract_fen", "records")}
            for r in out.to_dicts()}
