"""The shared import pipeline: normalised rows in, one all-or-nothing batch out.

Interface for importers (the tabular kinds in ``importers.run`` and ``importers.procurement.ocds`` use it)::

    from importers.pipeline import FileMeta, Options, load_procurement, load_normalised
    from importers.problems import Problems

    meta = FileMeta.of(path, kind="ocds", encoding="utf-8")      # sha256 of the file, streamed
    problems = Problems(meta.name)                               # add(code, row=..., column=..., value=...)
    result = load_procurement(engine, frame, problems, meta, Options(submitted_by="alice"))
    result.status   # "loaded" | "refused" | "unchanged" | "dry-run"
    result.batch_id, result.report  # report is also stored in import_batch.report_json

``frame`` holds one row per procurement record with the columns of ``PROCUREMENT_COLUMNS`` in
``importers.kinds`` (missing optional columns are filled with nulls): ``unit_code``, ``unit_name``,
``fiscal_year`` (Int32), ``method`` (open_tender … rfq | other), ``ocds_method``, ``method_raw``,
``budget_fen`` / ``contract_fen`` (Int64, integer minor units, null when missing), ``currency``
(upper case), ``release_date`` (Datetime UTC), ``*_date`` (Date), ``source_row`` (the position the
user can find the record at) and ``sheet`` (any label, e.g. a file inside an archive).
``load_normalised`` takes an iterable of chunks ``{"expense"|"budget"|"procurement": frame}`` to
stream big inputs.

What the pipeline does, inside one transaction (``ledger.store.db.writing``; ``reading`` for a dry run):
the same file (kind + sha256) already live is a no-op; ``--supersedes`` is checked; lines that are
exact duplicates inside the file are errors (warnings with ``allow_duplicates``); rows already in
the ledger are held back as probable duplicates (a procurement row whose ``release_id`` and
``release_date`` are already stored is skipped as already imported); any ``error`` problem refuses
the file and nothing is written; an input without rows is refused (``no-rows``); when every row is
held or skipped the status is ``unchanged`` with ``batch_id`` None (no empty batch). Otherwise it
creates the batch (with its report), creates unknown units, bulk-inserts the rows, stores
``finding`` problems as data-quality findings, then calls ``ledger.log.events.batch_published`` and
``ledger.store.audit.record``.

On SQLite the write lock (``BEGIN IMMEDIATE``) is held from the first check to the commit, so the
duplicate checks see exactly what the write lands on; a very large file therefore keeps other
writers waiting for the length of its import. On PostgreSQL imports run side by side: a
transaction-scoped advisory lock on kind + sha256 (``ledger.store.batches.lock_file``) is taken before
``find_published``, so the same file imported at once lands once; new units are inserted with
``ON CONFLICT DO NOTHING`` so two imports meeting the same new unit code both succeed.
"""

from __future__ import annotations

import errno
import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, select

from importers.checks import duplicates, reconcile, unit_register
from importers.checks.compact import compact
from importers.checks.magnitude import Magnitude
from importers.kinds import BUDGET_COLUMNS, EXPENSE_COLUMNS, PROCUREMENT_COLUMNS
from importers.problems import Problems
from ledger.log import events
from ledger.log.batch_frames import BatchFrames
from ledger.store import audit
from ledger.store.batches import (
    bulk_insert,
    create_batch,
    ensure_units,
    find_published,
    live,
    lock_duplicates,
    lock_file,
    reserve_ids,
)
from ledger.store.bulk import indexes, tuning
from ledger.store.db import reading, writing
from ledger.store.models import BudgetLine, DataQualityFinding, ExpenseEntry, ImportBatch, ProcurementRecord

TABLES = {"expense": (ExpenseEntry, EXPENSE_COLUMNS, "amount_fen"),
          "budget": (BudgetLine, BUDGET_COLUMNS, "amount_fen"),
          "procurement": (ProcurementRecord, PROCUREMENT_COLUMNS, "contract_fen")}
SPOOL_ROWS = 65_536  # normalised rows kept in memory before spilling to Arrow IPC files (one chunk)


@dataclass
class FileMeta:
    path: Path
    name: str
    kind: str
    sha256: str
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)
    amount_unit: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # "table" / "table:category" -> the file's amount header
    unit_stated: bool = False  # the clerk gave --amount-unit: the magnitude check is confirmed
    fiscal_start: int = 1  # month fiscal years start in (dates → fiscal years)
    encoding_evidence: dict | None = None  # text files: encoding, reason, confidence (importers.sheets.encoding)
    unit_header: str | None = None  # the file's header of the unit code column, for unit-unknown

    @classmethod
    def of(cls, path: Path, kind: str, encoding: str | None = None) -> FileMeta:
        h = hashlib.sha256()
        with Path(path).open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return cls(Path(path), Path(path).name, kind, h.hexdigest(), encoding)


@dataclass
class Options:
    submitted_by: str = "cli"
    role: str | None = None
    dry_run: bool = False
    supersedes: int | None = None
    allow_duplicates: bool = False
    update_units: bool = False  # units kind: apply attributes that differ from the ledger (else held)
    new_units: bool = False  # admit unit codes the loaded unit register does not know (else unit-unknown)
    progress: Callable[[str, int], None] | None = None  # (phase, rows) for a progress bar
    # run in the import's transaction once the rows are written, before publishing (OCDS: replacement links)
    after_write: Callable[[Connection, int], None] | None = None


@dataclass
class Result:
    status: str
    batch_id: int | None
    report: dict

    @property
    def ok(self) -> bool:
        return self.status != "refused"


def conform(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Give ``frame`` exactly ``columns`` (missing ones as nulls of the table's type)."""
    types = {"fiscal_year": pl.Int32, "source_row": pl.Int64, "entry_date": pl.Date, "tender_date": pl.Date,
             "award_date": pl.Date, "contract_date": pl.Date, "release_date": pl.Datetime("us", "UTC"),
             "amount_fen": pl.Int64, "budget_fen": pl.Int64, "contract_fen": pl.Int64, "persons": pl.Int64,
             "batches": pl.Int64, "vehicles": pl.Int64, "days": pl.Int64}
    return frame.select(
        [(pl.col(c) if c in frame.columns else pl.lit(None)).cast(types.get(c, pl.String)).alias(c) for c in columns]
    )


def _refuse_nul(frame: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    """Report text cells holding NUL (PostgreSQL cannot store it, so no dialect may) and blank them out."""
    cols = [c for c, t in frame.schema.items() if t == pl.String and c != "sheet"]
    has = [pl.col(c).str.contains("\x00", literal=True).fill_null(False) for c in cols]
    if not cols or not frame.select(pl.any_horizontal(has).any()).item():
        return frame
    for c in cols:
        for sheet, row, value in frame.filter(pl.col(c).str.contains("\x00", literal=True)).select(
                "sheet", "source_row", c).iter_rows():
            problems.add("text-nul", sheet=sheet, row=row, column=c, value=value.replace("\x00", "\\x00")[:80])
    return frame.with_columns(pl.col(c).str.replace_all("\x00", "", literal=True) for c in cols)


class Spool:
    """Normalised chunks between validation and insert; spilled to disk past ``SPOOL_ROWS``."""

    def __init__(self):
        self.parts: list[tuple[str, pl.DataFrame | Path]] = []
        self.in_memory = 0
        self.counts: dict[str, int] = {}
        self._dir: tempfile.TemporaryDirectory | None = None

    def add(self, table: str, frame: pl.DataFrame) -> None:
        self.counts[table] = self.counts.get(table, 0) + frame.height
        if self.in_memory + frame.height > SPOOL_ROWS:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="sunshine-import-")
            path = Path(self._dir.name) / f"{len(self.parts)}.arrow"
            frame.write_ipc(path, compression="lz4")
            self.parts.append((table, path))
        else:
            self.in_memory += frame.height
            self.parts.append((table, frame))

    def __iter__(self):
        for table, part in self.parts:
            yield table, (pl.read_ipc(part) if isinstance(part, Path) else part)

    def rows(self, table: str) -> int:
        """How many rows of ``table`` the spool holds (held duplicates included)."""
        return self.counts.get(table, 0)

    def of(self, table: str):
        """The parts of one table, in the order they were added."""
        for name, part in self.parts:
            if name == table:
                yield pl.read_ipc(part) if isinstance(part, Path) else part

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


def load_procurement(engine: Engine, frame: pl.DataFrame, problems: Problems, meta: FileMeta,
                     options: Options, stats: dict | None = None) -> Result:
    """Load normalised procurement rows (see the module docstring) as one batch."""
    return load_normalised(engine, [{"procurement": frame}], problems, meta, options, stats)


def load_normalised(engine: Engine, chunks: Iterable[dict[str, pl.DataFrame]], problems: Problems,
                    meta: FileMeta, options: Options, stats: dict | None = None) -> Result:
    """Validate across chunks, then write everything as one batch or nothing at all.

    A full store (SQLite ``database or disk is full`` / ``max_page_count``, PostgreSQL ``DiskFull``,
    or no space for the spool) rolls the transaction back and is refused as ``store-full``.
    """
    return guard_store_full(problems, meta, stats, lambda: _load(engine, chunks, problems, meta, options, stats))


def guard_store_full(problems: Problems, meta: FileMeta, stats: dict | None, load: Callable[[], Result]) -> Result:
    """Run ``load``; a full store (its transaction rolled back) becomes a ``store-full`` refusal."""
    try:
        return load()
    except Exception as exc:  # only a full store is turned into a report; anything else propagates
        why = _store_full(exc)
        if why is None:
            raise
        problems.add("store-full", detail=why)
        return Result("refused", None, base_report(meta, stats or {}, problems) | {"status": "refused"})


def _store_full(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means the disk or the database is full, else None.

    Bulk rows go through the driver's own cursor, so the driver's exception arrives unwrapped as
    often as SQLAlchemy's ``OperationalError`` wrapping it.
    """
    err = getattr(exc, "orig", None) or exc
    if type(err).__name__ == "DiskFull" or getattr(err, "sqlstate", None) == "53100":
        return "PostgreSQL: could not extend a file, the disk is full"
    if isinstance(err, sqlite3.OperationalError) and "full" in str(err).lower():
        return f"SQLite: {err}"
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "no space left on the device for temporary files"
    return None


def _load(engine: Engine, chunks: Iterable[dict[str, pl.DataFrame]], problems: Problems,
          meta: FileMeta, options: Options, stats: dict | None = None) -> Result:
    opener = reading if options.dry_run else writing
    with opener(engine) as conn:
        if not options.dry_run:
            lock_file(conn, meta.kind, meta.sha256)  # before find_published: one file lands once
        existing = find_published(conn, meta.kind, meta.sha256)
        if existing is not None and options.supersedes is None:
            report = base_report(meta, stats or {}, problems) | {"status": "unchanged", "batch_id": existing}
            return Result("unchanged", existing, report)
        if options.supersedes is not None:
            _check_supersedes(conn, meta, options.supersedes, problems)
        if not options.dry_run:
            lock_duplicates(conn)  # two files sharing rows at once: the second sees the first's rows
        spool, found = Spool(), duplicates.Finder(conn, exclude_batch=options.supersedes, columns=meta.columns,
                                                  kind=meta.kind)
        magnitude = None if meta.unit_stated else Magnitude(meta.columns)
        try:
            counted = {"detail": 0}
            normalised_rows = 0
            sums = []  # per chunk, for the reconciliation against the other source (importers.checks.reconcile)
            text = pl.Categorical(pl.Categories.random())  # its keys' texts as codes, freed with the import
            for chunk in chunks:
                for table, frame in chunk.items():
                    frame = _refuse_nul(conform(frame, TABLES[table][1]), problems)
                    frame = found.mark(table, frame)
                    if meta.kind in ("disclosure", "expenses") and (s := reconcile.partial(table, frame, text)) is not None:
                        sums = compact(sums + [s], reconcile.reduce)
                    if magnitude is not None:
                        magnitude.feed(table, frame)
                    spool.add(table, frame)
                    normalised_rows += frame.height
                    if options.progress:
                        options.progress("validate", frame.height)
            stats = {**counted, **(stats or {})}
            if not normalised_rows and not problems.count("error"):
                problems.add("no-rows")
            reconcile.check(conn, meta.kind, sums, problems, exclude_batch=options.supersedes)
            held_rows = found.report(problems, options.allow_duplicates)
            found.unit_conflicts(problems)
            unknown = unit_register.check(conn, meta.kind, found.first_rows(), meta.unit_header, problems,
                                          options.new_units)
            changed = {"changed_rows": found.changed} if found.changed else {}
            changed |= {("new_units" if options.new_units else "unknown_units"): unknown} if unknown else {}
            if magnitude is not None:
                held = magnitude.check(conn, problems, meta.amount_unit or "yuan", options.supersedes)
                changed |= {"implausible": held} if held else {}
                magnitude = None  # its per-figure sums are done with: free them before the write phase
            if problems.count("error"):
                report = base_report(meta, stats, problems) | {"status": "refused"} | changed
                if normalised_rows:
                    report["rows"] |= found.tally(options.allow_duplicates)
                return Result("refused", None, report)
            tally = found.tally(options.allow_duplicates)
            report = base_report(meta, stats, problems) | {"status": "loaded", "held_rows": held_rows} | changed
            report["rows"] |= tally
            report["totals"] = found.totals(options.allow_duplicates)
            found.rows.clear()  # the duplicate index is done with: free it before the write phase
            if tally["loaded"] == 0:  # every row is already in the ledger: no empty batch
                report["status"] = "unchanged"
                return Result("unchanged", None, report)
            if options.dry_run:
                report["status"] = "dry-run"
                return Result("dry-run", None, report)
            batch_id = _write(conn, meta, options, spool, found, report, problems)
            report["batch_id"] = batch_id
            return Result("loaded", batch_id, report)
        finally:
            spool.close()


def _check_supersedes(conn, meta: FileMeta, old: int, problems: Problems) -> None:
    row = conn.execute(select(ImportBatch.kind, live(ImportBatch.id)).where(ImportBatch.id == old)).first()
    if row is None:
        problems.add("supersedes-invalid", value=str(old), detail=f"batch {old} does not exist")
    elif row[0] != meta.kind:
        problems.add("supersedes-invalid", value=str(old), detail=f"batch {old} is a {row[0]} batch, not {meta.kind}")
    elif not row[1]:
        problems.add("supersedes-invalid", value=str(old), detail=f"batch {old} is already superseded")


def base_report(meta: FileMeta, stats: dict, problems: Problems) -> dict:
    return {
        "ok": problems.count("error") == 0,
        "kind": meta.kind, "file": meta.name, "sha256": meta.sha256, "encoding": meta.encoding,
        "sheets": meta.sheets, "amount_unit": meta.amount_unit,
        "rows": {k: stats.get(k, 0) for k in ("read", "detail", "blank", "total_rows")},
        "problems": problems.report(),
    } | ({"fiscal_year_start_month": meta.fiscal_start} if meta.fiscal_start != 1 else {}) | (
        {"encoding_evidence": meta.encoding_evidence} if meta.encoding_evidence else {})


def _insert_part(conn, table, frame: pl.DataFrame, stored: list[str], batch_id: int, frames: BatchFrames,
                 options: Options) -> None:
    first = reserve_ids(conn, table, frame.height)
    out = frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias("id"),
                             pl.lit(batch_id, pl.Int64).alias("batch_id")).select(stored)
    bulk_insert(conn, table, out)
    frames.add(table.name, out)
    if options.progress:
        options.progress("write", out.height)


def _write(conn, meta: FileMeta, options: Options, spool: Spool, found, report: dict, problems: Problems) -> int:
    rows = report["rows"]
    main = {"expenses": "expense", "budgets": "budget", "disclosure": "expense"}.get(meta.kind, "procurement")
    totals = report["totals"].get(main, {})
    batch_id = create_batch(
        conn, kind=meta.kind, file_name=meta.name, sha256=meta.sha256, submitted_by=options.submitted_by,
        encoding=meta.encoding, sheet=", ".join(s for s in meta.sheets if s) or None, amount_unit=meta.amount_unit,
        rows_read=rows["read"], rows_loaded=rows["loaded"], rows_skipped=rows["blank"] + rows["total_rows"] + rows["skipped_existing"],
        rows_held=rows["held"], control_total_fen=next(iter(totals.values())) if len(totals) == 1 else None,
        supersedes_id=options.supersedes, report=report | {"batch_id": "(this batch)"},
    )
    unit_ids = ensure_units(conn, found.units(), batch_id)
    units = pl.DataFrame({"unit_code": list(unit_ids), "unit_id": list(unit_ids.values())},
                         schema={"unit_code": pl.String, "unit_id": pl.Int64})
    frames = BatchFrames(batch_id, conn)  # row locators are stored part by part, not held to the end
    keep = found.keep_expr(options.allow_duplicates)
    with ExitStack() as cache:
        _write_rows(conn, meta, options, spool, report, problems, batch_id, units, frames, keep, cache)
    return batch_id


def _write_rows(conn, meta: FileMeta, options: Options, spool: Spool, report: dict, problems: Problems,
                batch_id: int, units: pl.DataFrame, frames: BatchFrames, keep: pl.Expr, cache: ExitStack) -> None:
    """Insert the spooled rows table by table, then publish; ``cache`` holds SQLite's page cache down
    from the first table whose indexes are set aside to the last rebuild (``ledger.store.bulk.tuning.appending``)."""
    rows = report["rows"]
    for table, (model, columns, _) in TABLES.items():  # canonical order: ids, and so log lines, table by table
        stored = ["id", "batch_id", "unit_id"] + [c for c in columns if c not in ("sheet", "unit_code", "unit_name")]
        with indexes.set_aside(conn, model.__table__, spool.rows(table)) as aside:
            if aside:
                cache.enter_context(tuning.appending(conn))
            for frame in spool.of(table):
                # file order kept (ids, and so the log's rows and a batch's default order, follow the file)
                _insert_part(conn, model.__table__,
                             frame.filter(keep).join(units, on="unit_code", how="left", maintain_order="left"),
                             stored, batch_id, frames, options)
    # the cap is for the rebuilds' sorter; publishing inserts into indexed tables (rollup, search) that re-read
    # evicted pages from the WAL by pread: 3.5 GB at 250k rows under 32 MB, 17 GB at 1M under 128 MB
    cache.close()
    findings = problems.frame().filter(pl.col("severity") == "finding")
    if findings.height:
        bulk_insert(conn, DataQualityFinding.__table__, findings.select(
            pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("sheet"), pl.col("row").alias("source_row"),
            pl.col("column").alias("column_name"), pl.col("code"),
            pl.col("detail").fill_null(pl.col("value")).alias("message"),
            pl.col("value").cast(pl.Int64, strict=False).alias("difference_fen"),
        ))
    if options.after_write:
        options.after_write(conn, batch_id)
    with tuning.publishing(conn):
        events.batch_published(conn, batch_id, role=options.role, frames=frames)
    audit.record(conn, actor=options.submitted_by, role=options.role, action="import.publish",
                 object_type="import_batch", object_id=batch_id,
                 details={"kind": meta.kind, "file": meta.name, "sha256": meta.sha256, "rows": rows,
                          "supersedes": options.supersedes})
