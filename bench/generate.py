"""Deterministic synthetic data for the benchmarks, in the agreed CSV formats.

    .venv/bin/python bench/generate.py small|medium [--out var/bench] [--seed 7]

Writes ``expenses.csv``, ``budgets.csv`` and ``procurement.csv`` (plus ``expenses-extra.csv``, a
second, disjoint expense file that the load test imports while traffic runs) under
``var/bench/<scale>/``. The same scale and seed give the same bytes: every chunk draws from its own
``numpy`` generator seeded from (seed, file, chunk), and polars writes the text.

Scales (``large`` is a projection from measured growth, never generated: see ``bench/run.py``):

- ``small``: 100,000 expense entries over 1,000 units and 5 years, 20,000 procurement records
- ``medium``: 5,000,000 expense entries over 40,000 units and 5 years, 1,000,000 procurement records
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

FIRST_YEAR = 2020
CHUNK_ROWS = 1_000_000

# Category codes with their share of line items and the median of one line item, in fen.
CATEGORIES = [
    ("reception", 0.30, 85_000),
    ("vehicle_operation", 0.22, 120_000),
    ("meeting", 0.12, 350_000),
    ("transport", 0.12, 30_000),
    ("training", 0.10, 420_000),
    ("study_tour", 0.06, 600_000),
    ("overseas_travel", 0.05, 2_400_000),
    ("vehicle_purchase", 0.03, 18_000_000),
]
DESCRIPTIONS = {
    "reception": "公务接待 工作餐",
    "vehicle_operation": "公务用车 燃油维修",
    "meeting": "会议 场地租用",
    "transport": "市内交通 差旅",
    "training": "业务培训 讲课费",
    "study_tour": "学习考察 住宿费",
    "overseas_travel": "因公出国(境) 团组",
    "vehicle_purchase": "公务用车 购置",
}
METHODS = [
    ("公开招标", 0.45), ("询价", 0.20), ("竞争性磋商", 0.14), ("竞争性谈判", 0.10),
    ("单一来源", 0.07), ("邀请招标", 0.04),
]
EXPENSE_HEADER = [
    "unit_code", "unit_name", "fiscal_year", "date", "category", "amount",
    "payee", "description", "voucher_no", "persons", "batches",
]
BUDGET_HEADER = ["unit_code", "unit_name", "fiscal_year", "category", "stage", "amount"]
PROCUREMENT_HEADER = [
    "project_code", "unit_code", "unit_name", "fiscal_year", "title", "method", "budget_amount",
    "contract_amount", "supplier_name", "supplier_id", "tender_date", "award_date", "contract_date",
]
# 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character over the first 17.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])


@dataclass(frozen=True)
class Scale:
    name: str
    entries: int
    units: int
    years: int
    procurement: int
    suppliers: int
    extra_entries: int


SCALES = {
    "tiny": Scale("tiny", 2_000, 50, 5, 300, 100, 500),
    "small": Scale("small", 100_000, 1_000, 5, 20_000, 2_000, 20_000),
    "m1": Scale("m1", 1_000_000, 10_000, 5, 200_000, 20_000, 50_000),  # the cold-read measure (bench/cold_reads.py)
    "medium": Scale("medium", 5_000_000, 40_000, 5, 1_000_000, 60_000, 200_000),
}


def _rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


def skewed_units(rng: np.random.Generator, units: int, rows: int) -> np.ndarray:
    """Unit indexes where low-numbered (bigger) units spend more often, yet every unit appears."""
    return np.minimum((rng.random(rows) ** 1.5 * units).astype(np.int64), units - 1)


def unit_code(index: pl.Expr) -> pl.Expr:
    # Nine digits starting with 44 (a province prefix), so no code ever loses a leading zero.
    return pl.lit("44") + (index + 1).cast(pl.String).str.zfill(7)


def unit_name(index: pl.Expr) -> pl.Expr:
    return pl.lit("第") + (index + 1).cast(pl.String) + pl.lit("号预算单位")


def yuan(fen: pl.Expr) -> pl.Expr:
    """Integer fen as the text a bureau writes: ``1234.05`` (yuan with two decimals)."""
    return (fen // 100).cast(pl.String) + pl.lit(".") + (fen % 100).cast(pl.String).str.zfill(2)


def iso_date(year: pl.Expr, day_of_year: pl.Expr) -> pl.Expr:
    start = pl.date(year, 1, 1)
    return (start + pl.duration(days=day_of_year)).dt.strftime("%Y-%m-%d")


def _uscc_pool(rng: np.random.Generator, size: int) -> list[str]:
    body = rng.integers(0, 31, size=(size, 17))
    body[:, 0] = 9  # registration authority 9: industry and commerce
    body[:, 1] = 1  # kind 1: enterprise
    check = (31 - (body * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    codes = np.concatenate([body, check[:, None]], axis=1)
    alphabet = np.array(list(USCC_ALPHABET))
    return ["".join(row) for row in alphabet[codes]]


def expense_chunk(scale: Scale, seed: int, stream: int, chunk: int, rows: int, start_row: int) -> pl.DataFrame:
    """``rows`` expense line items; ``stream`` keeps the extra file disjoint from the main one."""
    rng = _rng(seed, stream, chunk)
    n_cat = len(CATEGORIES)
    cat_idx = rng.choice(n_cat, size=rows, p=[c[1] for c in CATEGORIES])
    medians = np.array([c[2] for c in CATEGORIES])[cat_idx]
    fen = np.maximum(100, (medians * rng.lognormal(0.0, 0.6, size=rows)).astype(np.int64))
    # Larger units spend more often: a skewed pick of units.
    unit = skewed_units(rng, scale.units, rows)
    year = FIRST_YEAR + rng.integers(0, scale.years, size=rows)
    day = rng.integers(0, 365, size=rows)
    payee = rng.integers(0, scale.suppliers, size=rows)
    persons = rng.integers(2, 40, size=rows)
    batches = rng.integers(1, 4, size=rows)
    counted = np.isin(cat_idx, [0, 6])  # reception and overseas travel carry 人次 and 批次
    frame = pl.DataFrame(
        {
            "u": unit, "y": year, "d": day, "c": cat_idx.astype(np.int64), "fen": fen, "p": payee,
            "persons": np.where(counted, persons, -1), "batches": np.where(counted, batches, -1),
            "row": np.arange(start_row, start_row + rows, dtype=np.int64),
        }
    )
    categories = pl.Series([c[0] for c in CATEGORIES])
    descriptions = pl.Series([DESCRIPTIONS[c[0]] for c in CATEGORIES])
    prefix = "V" if stream == 0 else f"X{stream}-"
    return frame.select(
        unit_code(pl.col("u")).alias("unit_code"),
        unit_name(pl.col("u")).alias("unit_name"),
        pl.col("y").alias("fiscal_year"),
        iso_date(pl.col("y"), pl.col("d")).alias("date"),
        pl.col("c").replace_strict(list(range(n_cat)), categories).alias("category"),
        yuan(pl.col("fen")).alias("amount"),
        (pl.lit("供应商") + pl.col("p").cast(pl.String).str.zfill(5)).alias("payee"),
        pl.col("c").replace_strict(list(range(n_cat)), descriptions).alias("description"),
        (pl.lit(prefix) + pl.col("y").cast(pl.String) + "-" + pl.col("row").cast(pl.String).str.zfill(8)).alias(
            "voucher_no"
        ),
        pl.when(pl.col("persons") >= 0).then(pl.col("persons")).alias("persons"),
        pl.when(pl.col("batches") >= 0).then(pl.col("batches")).alias("batches"),
    )


def write_expenses(path: Path, scale: Scale, seed: int, rows: int, stream: int) -> pl.DataFrame:
    """Write the expense CSV chunk by chunk; return per (unit, year, category) sums for the budgets."""
    sums = []
    with path.open("wb") as out:
        for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
            frame = expense_chunk(scale, seed, stream, chunk, min(CHUNK_ROWS, rows - start), start)
            frame.write_csv(out, include_header=chunk == 0)
            if stream == 0:
                sums.append(
                    frame.group_by("unit_code", "unit_name", "fiscal_year", "category").agg(
                        pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64).sum().alias("fen")
                    )
                )
    if not sums:
        return pl.DataFrame()
    return pl.concat(sums).group_by("unit_code", "unit_name", "fiscal_year", "category").agg(pl.col("fen").sum())


def write_budgets(path: Path, sums: pl.DataFrame, seed: int) -> None:
    """Original budgets near each unit's actual spending, so some categories overrun and most do not."""
    sums = sums.sort("unit_code", "fiscal_year", "category")
    rng = _rng(seed, 2, 0)
    factor = rng.uniform(0.85, 1.25, size=sums.height)
    sums.with_columns(
        yuan((pl.col("fen") * pl.Series(factor)).cast(pl.Int64)).alias("amount"), pl.lit("original").alias("stage")
    ).select(BUDGET_HEADER).write_csv(path)


def write_procurement(path: Path, scale: Scale, seed: int) -> None:
    rng = _rng(seed, 3, 0)
    pool = pl.Series(_uscc_pool(rng, scale.suppliers))
    with path.open("wb") as out:
        for chunk, start in enumerate(range(0, scale.procurement, CHUNK_ROWS)):
            rows = min(CHUNK_ROWS, scale.procurement - start)
            rng = _rng(seed, 4, chunk)
            method_idx = rng.choice(len(METHODS), size=rows, p=[m[1] for m in METHODS])
            budget = (rng.lognormal(13.0, 1.3, size=rows)).astype(np.int64) * 100 + 100_000
            contract = (budget * rng.uniform(0.78, 1.04, size=rows)).astype(np.int64)
            frame = pl.DataFrame(
                {
                    "u": skewed_units(rng, scale.units, rows),
                    "y": FIRST_YEAR + rng.integers(0, scale.years, size=rows),
                    "d": rng.integers(0, 300, size=rows),
                    "m": method_idx.astype(np.int64),
                    "b": budget, "k": contract,
                    "s": rng.integers(0, scale.suppliers, size=rows),
                    "row": np.arange(start, start + rows, dtype=np.int64),
                }
            )
            methods = pl.Series([m[0] for m in METHODS])
            frame.select(
                (pl.lit("ZC") + pl.col("y").cast(pl.String) + "-" + pl.col("row").cast(pl.String).str.zfill(7)).alias(
                    "project_code"
                ),
                unit_code(pl.col("u")).alias("unit_code"),
                unit_name(pl.col("u")).alias("unit_name"),
                pl.col("y").alias("fiscal_year"),
                (pl.lit("办公设备及服务采购项目") + pl.col("row").cast(pl.String)).alias("title"),
                pl.col("m").replace_strict(list(range(len(METHODS))), methods).alias("method"),
                yuan(pl.col("b")).alias("budget_amount"),
                yuan(pl.col("k")).alias("contract_amount"),
                (pl.lit("供应商") + pl.col("s").cast(pl.String).str.zfill(5) + "有限公司").alias("supplier_name"),
                pool.gather(frame["s"]).alias("supplier_id"),
                iso_date(pl.col("y"), pl.col("d")).alias("tender_date"),
                iso_date(pl.col("y"), pl.col("d") + 20).alias("award_date"),
                iso_date(pl.col("y"), pl.col("d") + 30).alias("contract_date"),
            ).write_csv(out, include_header=chunk == 0)


def generate(scale_name: str, out: Path, seed: int = 7) -> dict[str, Path]:
    """Write every file of a scale under ``out/<scale>/`` and return their paths."""
    scale = SCALES[scale_name]
    folder = out / scale.name
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "expenses": folder / "expenses.csv",
        "expenses_extra": folder / "expenses-extra.csv",
        "budgets": folder / "budgets.csv",
        "procurement": folder / "procurement.csv",
    }
    sums = write_expenses(paths["expenses"], scale, seed, scale.entries, stream=0)
    write_expenses(paths["expenses_extra"], scale, seed, scale.extra_entries, stream=1)
    write_budgets(paths["budgets"], sums, seed)
    write_procurement(paths["procurement"], scale, seed)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scale", choices=sorted(SCALES))
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate(args.scale, args.out, args.seed)
    for kind, path in paths.items():
        print(f"{kind:15} {path}  {path.stat().st_size / 1e6:8.1f} MB")
    print(f"generated in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
