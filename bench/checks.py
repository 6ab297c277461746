"""Time ``sunshine check`` over many expense entries beside a polars lazy group-by of the same entries.

    .venv/bin/python bench/checks.py [--rows 5000000] [--units 40000] [--db-url URL] [--out var/bench-checks]

Builds a fresh store (SQLite by default) with ``--rows`` expense entries over ``--units`` units and
the years 2005-2009, plus budgets, the rollups and the flags' per-batch basis (``ledger.store.derived.flag_basis``,
timed as ``load.flag_basis_s``: what publishing the batch adds), loads policies/changde-2009.toml, then times:

- ``targets``: ``ledger.rules.checks.evaluate_all`` (every target for every unit and year, from rollups)
- each flag rule on its own
- ``run_checks``: the whole check as ``sunshine check`` runs it (targets + flags + storing), then again
  on unchanged data (reused), then ``--year 2009`` alone
- ``polars``: ``scan_parquet(entries).group_by(unit, year, category).agg(sum)`` on the same rows

and writes the timings as JSON (``bench/results/checks/<backend>-<rows>.json``, apart from bench/report.py's files) for docs/benchmarks-checks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.rules import registry, thresholds  # noqa: E402
from ledger.rules.checks import evaluate_all, run_checks  # noqa: E402
from ledger.rules.targets import load_policy_file  # noqa: E402
from ledger.store import batches, migrate  # noqa: E402
from ledger.store.db import make_engine, writing  # noqa: E402
from ledger.store.derived.flag_basis import refresh_flag_basis  # noqa: E402
from ledger.store.models import BudgetLine, Category, ExpenseEntry, Unit  # noqa: E402

CATS = ["reception", "vehicle_operation", "meeting", "transport", "training", "study_tour", "overseas_travel",
        "vehicle_purchase"]
SHARES = [0.30, 0.22, 0.12, 0.12, 0.10, 0.06, 0.05, 0.03]
YEARS = [2005, 2006, 2007, 2008, 2009]


def entries(rows: int, units: int, unit_ids: np.ndarray, batch_id: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cat = rng.choice(len(CATS), size=rows, p=SHARES)
    year = rng.choice(YEARS, size=rows)
    day = rng.integers(0, 365, size=rows)
    reception = cat == 0
    return pl.DataFrame({
        "batch_id": np.full(rows, batch_id),
        "source_row": np.arange(2, rows + 2),
        "unit_id": unit_ids[rng.integers(0, units, size=rows)],
        "fiscal_year": year,
        "day": day,
        "category_code": np.array(CATS)[cat],
        "amount_fen": rng.lognormal(11, 1.0, size=rows).astype(np.int64) + 1,
        "currency": "CNY",
        "payee": np.char.add("供应商", rng.integers(0, 5000, size=rows).astype(str)),
        "persons": rng.integers(1, 20, size=rows),
        "reception": reception,
        "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }).with_columns(
        persons=pl.when(pl.col("reception")).then(pl.col("persons")).otherwise(None),
        entry_date=pl.date(pl.col("fiscal_year"), 1, 1) + pl.duration(days=pl.col("day")),
    ).drop("day", "reception")


def build(url: str, rows: int, units: int, parquet: Path) -> dict:
    """A fresh store with ``rows`` entries and their budgets, the Changde policy, and a parquet copy."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    migrate.upgrade(url)
    engine = make_engine(url)
    load = {}
    t0 = time.perf_counter()
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="expenses", file_name="bench", sha256=f"{rows:064d}",
                                   submitted_by="bench")
        ids = batches.ensure_units(conn, [(f"B{i:06d}", f"单位{i}") for i in range(units)], bid)
        unit_ids = np.array(list(ids.values()))
        frame = entries(rows, units, unit_ids, bid)
        load["generate_s"] = round(time.perf_counter() - t0, 3)
        _, load["insert_s"] = timed(lambda: batches.bulk_insert(conn, ExpenseEntry.__table__, frame))
        budget = (frame.group_by("unit_id", "fiscal_year", "category_code").agg(pl.col("amount_fen").sum())
                  .with_columns(batch_id=pl.lit(bid, pl.Int64), stage=pl.lit("original"), currency=pl.lit("CNY"),
                                amount_fen=(pl.col("amount_fen") * 21) // 20))
        batches.bulk_insert(conn, BudgetLine.__table__, budget)
        # Only the rollups: the transparency log's per-row digest of 5M rows is not what this measures.
        _, load["rollups_s"] = timed(lambda: batches.refresh_rollups(conn, bid))
        # what ledger.log.events.batch_published keeps for the entry-level flags (paid once per batch, at import)
        _, load["flag_basis_s"] = timed(lambda: refresh_flag_basis(conn, bid))
        load_policy_file(conn, ROOT / "policies" / "changde-2009.toml", actor="bench")
    frame.write_parquet(parquet)
    engine.dispose()
    return load


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - t, 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--units", type=int, default=40_000)
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--out", default=str(ROOT / "var" / "bench-checks"))
    ap.add_argument("--reuse", action="store_true", help="Time an existing store and parquet file from an earlier run.")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    url = args.db_url or f"sqlite:///{out / f'checks-{args.rows}.sqlite3'}"
    parquet = out / f"entries-{args.rows}.parquet"
    load = {}
    if not args.reuse:
        load = build(url, args.rows, args.units, parquet)
    engine = make_engine(url)
    if args.reuse:  # forget earlier runs, so the first run below really evaluates
        with writing(engine) as conn:
            for table in ("flag", "target_result", "check_run"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    config = thresholds.load_flag_config()
    timings: dict = {"rows": args.rows, "units": args.units, "backend": engine.dialect.name, "load": load}
    with engine.connect() as conn:
        res, timings["targets_s"] = timed(lambda: evaluate_all(conn))
        timings["target_results"] = res.height
        ctx = registry.Context(0, None, config)
        ctx.units = {i: (c, n) for i, c, n in conn.execute(Unit.__table__.select().with_only_columns(
            Unit.id, Unit.code, Unit.name))}
        ctx.categories = {c: (zh, en) for c, zh, en in conn.execute(Category.__table__.select().with_only_columns(
            Category.code, Category.name_zh, Category.name_en))}
        timings["rules_s"] = {}
        for code, rule in sorted(registry.REGISTRY.items()):
            if code != "target_missed":
                _, timings["rules_s"][code] = timed(lambda r=rule: r.func(conn, ctx))
    with writing(engine) as conn:
        summary, timings["run_checks_s"] = timed(lambda: run_checks(conn, config=config, actor="bench"))
    timings["summary"] = {"results": summary.results, "flags_raised": summary.flags["raised"]}
    with writing(engine) as conn:
        _, timings["run_checks_unchanged_s"] = timed(lambda: run_checks(conn, config=config, actor="bench"))
    with writing(engine) as conn:
        _, timings["run_checks_year_2009_s"] = timed(lambda: run_checks(conn, year=2009, config=config, actor="bench"))

    def polars_groupby():
        return (pl.scan_parquet(parquet).group_by("unit_id", "fiscal_year", "category_code")
                .agg(pl.col("amount_fen").sum()).collect())

    polars_groupby()  # warm the page cache once, as the store's file is warm
    _, timings["polars_groupby_s"] = timed(polars_groupby)
    timings["ratio_run_checks_to_polars"] = round(timings["run_checks_s"] / timings["polars_groupby_s"], 2)
    timings["ratio_targets_to_polars"] = round(timings["targets_s"] / timings["polars_groupby_s"], 2)
    dest = ROOT / "bench" / "results" / "checks" / f"{engine.dialect.name}-{args.rows}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(timings, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(timings, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
