"""Duplicates: identical lines inside a file, and rows the ledger already holds.

Inside a file, two normalised rows with the same values (all but the row number) are duplicates;
both row numbers are reported (two identical lunches can be real: the user confirms with
``--allow-duplicates``). Against the ledger (live batches only, the superseded batch excluded):

- expenses: the same unit and voucher number (凭证号) when the file has one; otherwise the same unit,
  year, date, category, currency and payee;
- budgets: the same unit, year, category, stage and currency (a correction is a ``--supersedes``);
- procurement: the same ``release_id`` and ``release_date`` is already imported and skipped; else
  the same unit and project code; else the same unit, year, title, contract amount and supplier.

A match whose amount (``amount_fen``; ``contract_fen`` for procurement) equals one of the matched
ledger rows' amounts is a probable duplicate; a match whose amount differs from all of them is a
changed figure (``amount-changed``): an error naming the key, the ledger's and the file's amount and
``--supersedes N`` (N = the batch holding it), so a corrected file is never reported "unchanged".
Matches are held back (not loaded, reported with the batch that has them) unless allowed. The
database finds them: each chunk's keys go into a TEMP table joined against the ledger (``_matches``),
so memory does not grow with the ledger; ``ix_expense_entry_unit_voucher`` serves the 凭证号 key.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, and_, case, func, select, text

from importers.checks.compact import compact
from ledger.money import format_yuan
from ledger.store import published
from ledger.store.batches import bulk_insert, live
from ledger.store.models import BudgetLine, ExpenseEntry, ImportBatch, ProcurementRecord, Unit

EXCLUDED_FROM_HASH = {"sheet", "source_row"}
MAIN_AMOUNT = {"expense": "amount_fen", "budget": "amount_fen", "procurement": "contract_fen"}
KEYS = {
    "expense": [["unit_code", "voucher_no"],
                ["unit_code", "fiscal_year", "entry_date", "category_code", "currency", "payee"]],
    "budget": [["unit_code", "fiscal_year", "category_code", "stage", "currency"]],
    "procurement": [["release_id", "release_date"], ["unit_code", "project_code"],
                    ["unit_code", "fiscal_year", "title", "contract_fen", "supplier_name"]],
}
TABLE_SALT = {"expense": 0x9E3779B97F4A7C15, "budget": 0xC2B2AE3D27D4EB4F, "procurement": 0x165667B19E3779F9}
DUP_CODES = {"held": 1, "skip": 2}  # 0 = neither, in the compact index
MODELS = {"expense": ExpenseEntry, "budget": BudgetLine, "procurement": ProcurementRecord}


def _first_pairs(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Each (unit code, unit name) pair at its first row, in file order (folding folded parts gives the same)."""
    return pl.concat(parts).unique(["unit_code", "unit_name"], keep="first", maintain_order=True)


class Finder:
    def __init__(self, conn: Connection, exclude_batch: int | None = None, columns: dict[str, str] | None = None,
                 kind: str | None = None):
        self.conn = conn
        self.kind = kind  # the file's kind: a changed figure in a batch of another kind is not its correction
        self.exclude = exclude_batch
        self.columns = columns or {}  # "table" or "table:category" -> the file's amount header
        self.changed: list[dict] = []  # amount-changed rows: sheet, row, key, old, new, batch
        self.rows: list[pl.DataFrame] = []  # table, sheet, source_row, hash, dup
        self.matches: list[pl.DataFrame] = []  # sheet, source_row, code, detail
        self.sums: list[pl.DataFrame] = []
        self.unit_frames: list[pl.DataFrame] = []
        self.tables: set[str] = set()

    def _matches(self, table: str, key: list[str], candidates: pl.DataFrame, units: list[str],
                 years: list[int]) -> pl.DataFrame:
        """``__i``, the lowest live ``batch_id`` of the rows in the ledger that share ``key``, whether one of
        them has the row's amount (``same``) and the smallest and largest of their amounts.

        The database does the join: the candidates' key columns go into a TEMP table (bulk: executemany
        or COPY) that is joined against live rows of ``table`` whose unit and year the chunk has, so
        memory stays that of the chunk however large the ledger is. Only matching rows come back.
        """
        out_schema = {"__i": pl.Int64, "batch_id": pl.Int64, "same": pl.Int64, "old_min": pl.Int64,
                      "old_max": pl.Int64}
        if not candidates.height or not years:
            return pl.DataFrame(schema=out_schema)
        model = MODELS[table]
        amount = MAIN_AMOUNT[table]
        cols = key + ([amount] if amount not in key else [])
        probe = Table(f"dup_probe_{table}", MetaData(), Column("__i", BigInteger),
                      *[Column(c, String if c in ("unit_code", "release_date") else model.__table__.c[c].type)
                        for c in cols], prefixes=["TEMPORARY"])
        codes = Table(f"dup_units_{table}", MetaData(), Column("code", String), prefixes=["TEMPORARY"])
        pg = self.conn.dialect.name == "postgresql"
        # no try/finally: an error rolls the transaction back, and the TEMP tables with it
        probe.create(self.conn)
        bulk_insert(self.conn, probe, candidates.select("__i", *cols))
        e, t = model.__table__, probe.c
        # ``+ 0``: without statistics SQLite would drive the join from the year index (every ledger row of
        # those years) instead of from the probe rows through the (unit_id, …) indexes
        conds = [(e.c.fiscal_year + 0).in_(years), live(e.c.batch_id)]
        if self.exclude is not None:
            conds.append(e.c.batch_id != self.exclude)
        for c in key:
            if c == "unit_code":
                continue  # joined through ``unit`` below
            if c == "release_date":  # compared as UTC text to the second, as the file's side is
                text_of = (func.to_char(func.timezone("UTC", e.c.release_date), 'YYYY-MM-DD"T"HH24:MI:SS') if pg
                           else func.strftime("%Y-%m-%dT%H:%M:%S", e.c.release_date))
                conds.append(text_of.is_not_distinct_from(t.release_date))
            elif e.c[c].nullable:
                conds.append(e.c[c].is_not_distinct_from(t[c]))
            else:  # the ledger side is never null, so ``=`` means the same and lets an index serve it
                conds.append(e.c[c] == t[c])
        same = func.max(case((e.c[amount].is_not_distinct_from(t[amount]), 1), else_=0))
        q = select(t["__i"], func.min(e.c.batch_id), same, func.min(e.c[amount]), func.max(e.c[amount])).select_from(probe)
        if "unit_code" in key:
            q = q.join(Unit, Unit.code == t.unit_code).join(e, and_(e.c.unit_id == Unit.id, *conds))
        else:  # only the chunk's units, as for the other keys
            q = q.join(e, and_(*conds)).join(Unit, Unit.id == e.c.unit_id)
            codes.create(self.conn)
            bulk_insert(self.conn, codes, pl.DataFrame({"code": units}, schema={"code": pl.String}))
            q = q.where(Unit.code.in_(select(codes.c.code)))
        if pg:
            self.conn.execute(text(f"ANALYZE {probe.name}"))
        rows = self.conn.execute(q.group_by(t["__i"]).order_by(t["__i"])).all()
        probe.drop(self.conn)
        if "unit_code" not in key:
            codes.drop(self.conn)
        return pl.DataFrame(rows, schema=out_schema, orient="row")

    def mark(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """Add ``__dup`` (null, ``held`` or ``skip``) to a normalised chunk and remember what was seen."""
        hashed = [c for c in frame.columns if c not in EXCLUDED_FROM_HASH]
        frame = frame.with_columns(pl.struct(hashed).hash(seed=7).alias("__hash"), pl.int_range(pl.len()).alias("__i"))
        dup = pl.Series("__dup", [None] * frame.height, dtype=pl.String)
        if frame.height:
            units = frame["unit_code"].drop_nulls().unique().sort().to_list()
            years = frame["fiscal_year"].drop_nulls().unique().sort().to_list()
            probe = frame
            if "release_date" in frame.columns:
                probe = frame.with_columns(pl.col("release_date").dt.strftime("%Y-%m-%dT%H:%M:%S"))
            hits = []
            remaining = probe
            for n, key in enumerate(KEYS[table]):
                # the first key that the row fills decides (a voucher number, else the long key)
                has = pl.col([c for c in key if c != "unit_code"][0]).is_not_null()
                candidates = remaining.filter(has) if n < len(KEYS[table]) - 1 else remaining
                remaining = remaining.filter(~has) if n < len(KEYS[table]) - 1 else remaining.clear()
                m = candidates.join(self._matches(table, key, candidates, units, years), on="__i", how="inner",
                                    maintain_order="left")
                if key[0] == "release_id":
                    code = pl.lit("already-imported")
                else:
                    code = pl.when(pl.col("same") == 1).then(pl.lit("probable-duplicate")).otherwise(
                        pl.lit("amount-changed"))
                    self._note_changed(table, key, m.filter(pl.col("same") != 1))
                # a probable duplicate or an already-imported release names its batch by id (the catalogue words it)
                detail = pl.col("batch_id").cast(pl.String)
                if key[0] != "release_id":
                    detail = pl.when(pl.col("same") == 1).then(detail).otherwise(pl.format("batch {}", pl.col("batch_id")))
                hits.append(m.select("__i", "sheet", "source_row", code.alias("code"), detail.alias("detail")))
            hit = pl.concat(hits)
            if hit.height:
                self.matches.append(hit.drop("__i"))
                kind = hit.select("__i", pl.when(pl.col("code") == "already-imported").then(pl.lit("skip"))
                                  .otherwise(pl.lit("held")).alias("__dup"))
                dup = frame.select("__i").join(kind, on="__i", how="left")["__dup"]
        frame = frame.with_columns(dup.alias("__dup")).drop("__i")
        # compact (about 21 bytes a row): the table is folded into the hash, so one UInt64 says "same line"
        self.tables.add(table)
        self.rows.append(frame.select(
            pl.col("sheet").cast(pl.Categorical), "source_row",
            (pl.col("__hash") ^ pl.lit(TABLE_SALT[table], pl.UInt64)).alias("__hash"),
            pl.col("__dup").replace_strict(DUP_CODES, default=0, return_dtype=pl.UInt8).alias("__dup")))
        amount = MAIN_AMOUNT[table]
        summed = frame
        if table in ("expense", "budget") and frame["category_code"].is_in(["three_public", "vehicles"]).any():
            # a disclosure row states 合计, subtotals and parts: its control total is its top figure
            summed = published.topmost(frame, ["sheet", "source_row"] + (["stage"] if table == "budget" else []))
        self.sums.append(summed.group_by("currency", "__dup").agg(pl.col(amount).sum().alias("fen"))
                         .with_columns(pl.lit(table).alias("table")))
        self.unit_frames.append(_first_pairs([frame.select("unit_code", "unit_name", "sheet", "source_row")]))
        self.unit_frames = compact(self.unit_frames, _first_pairs)
        return frame

    def _note_changed(self, table: str, key: list[str], m: pl.DataFrame) -> None:
        """Remember rows whose key is in the ledger with another amount (the report lists each one)."""
        amount = MAIN_AMOUNT[table]
        named = [c for c in key if c != "currency"] + (["stage"] if table == "budget" else [])
        for r in m.head(max(0, 1000 - len(self.changed))).iter_rows(named=True):
            old = (format_yuan(r["old_min"]) if r["old_min"] == r["old_max"]
                   else f"{format_yuan(r['old_min'])} … {format_yuan(r['old_max'])}")
            column = (self.columns.get(f"{table}:{r.get('category_code')}:{r.get('stage')}")
                      or self.columns.get(f"{table}:{r.get('category_code')}") or self.columns.get(table) or amount)
            self.changed.append({
                "sheet": r["sheet"], "row": r["source_row"], "column": column,
                "key": {c: (None if r.get(c) is None else str(r[c])) for c in dict.fromkeys(named)},
                "old_fen": r["old_min"] if r["old_min"] == r["old_max"] else [r["old_min"], r["old_max"]],
                "new_fen": r[amount], "old": old, "new": format_yuan(r[amount]), "batch": r["batch_id"],
            })

    @staticmethod
    def keep_expr(allow: bool) -> pl.Expr:
        dup = pl.col("__dup")
        return dup.is_null() | (dup == "held") if allow else dup.is_null()

    def _all(self) -> pl.DataFrame:
        if not self.rows:
            return pl.DataFrame(schema={"sheet": pl.Categorical, "source_row": pl.Int64, "__hash": pl.UInt64,
                                        "__dup": pl.UInt8})
        return pl.concat(self.rows, rechunk=False)  # no copy of millions of rows

    def report(self, problems, allow: bool) -> list[dict]:
        """Add duplicate problems; return the held rows for the report."""
        rows = self._all()
        same = (rows.filter(pl.col("__hash").is_duplicated())
                .with_columns(pl.col("sheet").cast(pl.String)).sort("source_row")
                .with_columns(pl.col("source_row").first().over("__hash").alias("first"),
                              pl.col("sheet").first().over("__hash").alias("first_sheet"))
                .filter(pl.col("source_row") != pl.col("first"))
                .unique(["sheet", "source_row"], keep="first").sort("sheet", "source_row", nulls_last=True))
        if same.height:
            problems.add_frame(same.select(
                "sheet", pl.col("source_row").alias("row"), pl.lit("row-duplicate").alias("code"),
                pl.lit("warning" if allow else "error").alias("severity"),
                pl.when(pl.col("first_sheet").is_not_null() & (pl.col("first_sheet") != pl.col("sheet").fill_null("")))
                .then(pl.format("{} (sheet {})", pl.col("first"), pl.col("first_sheet")))
                .otherwise(pl.col("first").cast(pl.String)).alias("detail"),
            ))
        if not self.matches:
            return []
        matches = pl.concat(self.matches).unique(["sheet", "source_row"], keep="first").sort("source_row")
        problems.add_frame(matches.filter(pl.col("code") != "amount-changed").select(
            "sheet", pl.col("source_row").alias("row"), "code", "detail", pl.lit("warning").alias("severity")))
        kinds = dict(self.conn.execute(select(ImportBatch.id, ImportBatch.kind).where(
            ImportBatch.id.in_(sorted({c["batch"] for c in self.changed})))).all()) if self.changed else {}
        for c in self.changed:
            key = ", ".join(f"{k} {v}" for k, v in c["key"].items() if v is not None)
            other = kinds.get(c["batch"])
            fix = (f"--supersedes {c['batch']}" if other in (None, self.kind) else
                   f"batch {c['batch']} is a {other} file: correct it with a {other} file and --supersedes "
                   f"{c['batch']}, or load this one beside it with --allow-duplicates")
            problems.add("amount-changed", sheet=c["sheet"], row=c["row"], column=c["column"], value=c["new"],
                         severity="warning" if allow else "error",
                         detail=f"{key}: {c['old']} 元 (batch {c['batch']}) → {c['new']} 元; {fix}")
        held = matches.filter(pl.col("code") == "probable-duplicate")
        return [{"sheet": s, "row": r, "existing": f"batch {d}"} for s, r, _, d in held.head(1000).iter_rows()]

    def tally(self, allow: bool) -> dict:
        rows = self._all()
        dup = pl.col("__dup")
        keep = dup.is_in([0, 1]) if allow else dup == 0

        def distinct(cond) -> int:
            # one source row makes one normalised row, except the disclosure table (several tables)
            if not rows.height:
                return 0
            if len(self.tables) > 1:
                return rows.filter(cond).select(pl.struct("sheet", "source_row").n_unique()).item()
            return int(rows.select(cond.sum()).item())

        return {"loaded": distinct(keep), "held": 0 if allow else distinct(dup == 1), "skipped_existing": distinct(dup == 2)}

    def totals(self, allow: bool) -> dict[str, dict[str, int]]:
        if not self.sums:
            return {}
        s = pl.concat(self.sums).filter(self.keep_expr(allow)).group_by("table", "currency").agg(pl.col("fen").sum())
        out: dict[str, dict[str, int]] = {}
        for table, currency, fen in s.sort("table", "currency").iter_rows():
            out.setdefault(table, {})[currency] = int(fen or 0)
        return out

    def unit_conflicts(self, problems) -> None:
        """Warn when one unit code carries two names in the file (the first name is the one kept)."""
        if not self.unit_frames:
            return
        pairs = pl.concat(self.unit_frames).select("unit_code", "unit_name").drop_nulls().unique(maintain_order=True)
        clash = pairs.group_by("unit_code", maintain_order=True).agg(pl.col("unit_name")).filter(
            pl.col("unit_name").list.len() > 1)
        for code, names in clash.head(100).iter_rows():
            problems.add("unit-name-conflict", column="unit_name", value=" / ".join(names), severity="warning",
                         detail=code)

    def units(self) -> list[tuple[str, str | None]]:
        if not self.unit_frames:
            return []
        return list(self.first_rows().select("unit_code", "unit_name").iter_rows())

    def first_rows(self) -> pl.DataFrame:
        """unit_code, unit_name, sheet, source_row where each unit code first appears in the file."""
        if not self.unit_frames:
            return pl.DataFrame(schema={"unit_code": pl.String, "unit_name": pl.String, "sheet": pl.String,
                                        "source_row": pl.Int64})
        return pl.concat(self.unit_frames).drop_nulls("unit_code").unique("unit_code", keep="first",
                                                                          maintain_order=True)
