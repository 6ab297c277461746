"""One figure per unit, year, category and stage: published where published, derived only where not.

Categories form a tree (``category.parent_code``, migration 0003)::

    three_public (三公经费合计)
    ├── overseas_travel          因公出国(境)费
    ├── vehicles                 公务用车购置及运行维护费
    │   ├── vehicle_purchase     公务用车购置费
    │   └── vehicle_operation    公务用车运行维护费
    └── reception                公务接待费

A figure may be stored at any node, for any stage: ``budget`` (预算数, rollup measure
``budget_original``), ``adjusted`` (调整预算数, ``budget_adjusted``), ``execution`` (执行数,
``budget_execution``) and ``final`` (决算数, ``actual``).

Source precedence for a node, stage, unit and year, highest first:

1. ``disclosure``: a figure typed from a published 三公 table (the newest live disclosure batch
   stating it wins; two live tables are never added together);
2. ``budgets``: a budget line from a budgets file (a stated figure);
3. ``line_items``: the sum of expense line items booked to that very category — detail, not a
   published figure;
4. ``children``: the sum of the node's children's figures (each resolved the same way).

1 and 2 give ``basis = "published"``; 3 and 4 give ``basis = "derived"`` (a node with line items of its
own and children adds both). Line items never add to a published figure: where both exist and differ the
difference is a ``source-mismatch`` finding naming both figures. A node whose children are all missing
has no figure (missing is never zero); a derived node says how many of its children had a figure.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from ledger.store.batches import live
from ledger.store.models import Category, ImportBatch, Rollup

STAGE_MEASURE = {"budget": "budget_original", "adjusted": "budget_adjusted", "execution": "budget_execution",
                 "final": "actual"}
MEASURE_STAGE = {m: s for s, m in STAGE_MEASURE.items()}
STAGE_ZH = {"budget": "预算数", "adjusted": "调整预算数", "execution": "执行数", "final": "决算数"}
ROWS_SCHEMA = {"batch_id": pl.Int64, "kind": pl.String, "measure": pl.String, "unit_id": pl.Int64,
               "fiscal_year": pl.Int64, "category_code": pl.String, "amount": pl.Int64}
KEY = ["measure", "unit_id", "fiscal_year", "category_code"]
# The tree migration 0003 seeds: what a published 三公 table's rows mean, whatever a region adds.
SEED_TREE = {"three_public": None, "overseas_travel": "three_public", "vehicles": "three_public",
             "vehicle_purchase": "vehicles", "vehicle_operation": "vehicles", "reception": "three_public"}
RESOLVED_SCHEMA = {
    "measure": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "category_code": pl.String,
    "amount": pl.Int64, "basis": pl.String, "source": pl.String, "published": pl.Int64, "table": pl.Int64,
    "stated": pl.Int64, "items": pl.Int64, "children": pl.Int64, "parts": pl.Int64, "parts_expected": pl.Int64,
    "batch_ids": pl.List(pl.Int64),
}


def parents(conn: Connection) -> dict[str, str | None]:
    """``{category code: parent code or None}`` for every category."""
    return dict(conn.execute(select(Category.code, Category.parent_code)).all())


def children_of(tree: dict[str, str | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for code, parent in tree.items():
        if parent is not None:
            out.setdefault(parent, []).append(code)
    return out


def collapse(keys: list[str], tree: dict[str, str | None]) -> list[str]:
    """The categories to read for a set of leaves: a node replaces its children when all of them are in the set.

    ``[overseas_travel, vehicle_purchase, vehicle_operation, reception]`` → ``[three_public]``, so a group
    target reads the published 合计 (or the figure derived from its children) instead of adding up parts.
    """
    keys = list(dict.fromkeys(keys))
    kids = children_of(tree)
    changed = True
    while changed:
        changed = False
        for node, cs in kids.items():
            if node not in keys and cs and all(c in keys for c in cs):
                keys = [k for k in keys if k not in cs] + [node]
                changed = True
    return keys


def topmost(frame: pl.DataFrame, by: list[str], tree: dict[str, str | None] = SEED_TREE) -> pl.DataFrame:
    """The rows of ``frame`` whose ``category_code`` has no ancestor among the rows sharing ``by``.

    For one row of a disclosure table that is the published 合计 when there is one, else the parts at the
    highest level published: the file's control total without counting a subtotal and its parts twice.
    """
    p1 = pl.col("category_code").replace_strict(tree, default=None, return_dtype=pl.String)
    p2 = p1.replace_strict(tree, default=None, return_dtype=pl.String)
    present = pl.col("category_code").implode().over(by)
    return frame.filter(~(present.list.contains(p1).fill_null(False) | present.list.contains(p2).fill_null(False)))


def rollup_rows(conn: Connection, years: list[int] | None = None, unit_ids: list[int] | None = None) -> pl.DataFrame:
    """Live CNY rollup rows with the kind of the batch they came from (``ROWS_SCHEMA``)."""
    r, b = Rollup.__table__, ImportBatch.__table__
    q = (select(r.c.batch_id, b.c.kind, r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, r.c.amount_fen)
         .join(b, b.c.id == r.c.batch_id).where(live(r.c.batch_id), r.c.currency == "CNY"))
    if years is not None:
        q = q.where(r.c.fiscal_year.in_(years))
    if unit_ids is not None:
        q = q.where(r.c.unit_id.in_(unit_ids))
    return pl.DataFrame(conn.execute(q).all(), schema=ROWS_SCHEMA, orient="row")


def _depths(tree: dict[str, str | None]) -> dict[str, int]:
    def depth(code: str, seen: tuple = ()) -> int:
        p = tree.get(code)
        return 0 if p is None or p in seen else 1 + depth(p, (*seen, code))
    return {c: depth(c) for c in tree}


def _add(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """a + b where a missing side adds nothing and two missing sides stay missing."""
    return pl.when(a.is_null() & b.is_null()).then(None).otherwise(a.fill_null(0) + b.fill_null(0))


def resolve(rows: pl.DataFrame, tree: dict[str, str | None], amounts_only: bool = False) -> pl.DataFrame:
    """One figure per (measure, unit, year, category) from rollup rows with their batch kind (``RESOLVED_SCHEMA``).

    ``table``: the newest live disclosure batch's figure; ``stated``: budget lines of budgets files;
    ``items``: everything else (expense line items); ``published = table ?? stated``; ``children``: the sum
    of the children's figures, ``parts`` of ``parts_expected`` children having one.

    ``amounts_only``: the same figures, only ``KEY`` and ``amount``, unsorted, without the batch lists
    (the aggregate over a whole ledger: the lists and the sort were most of its seconds).
    """
    if not rows.height:
        return pl.DataFrame(schema=RESOLVED_SCHEMA).select(*KEY, "amount") if amounts_only else pl.DataFrame(
            schema=RESOLVED_SCHEMA)
    lists = not amounts_only
    rows = rows.with_columns(
        pl.when(pl.col("kind") == "disclosure").then(pl.lit("table"))
        .when(pl.col("kind") == "budgets").then(pl.lit("stated")).otherwise(pl.lit("items")).alias("src"))
    newest = (rows.filter(pl.col("src") == "table")
              .filter(pl.col("batch_id") == pl.col("batch_id").max().over(KEY)))
    base = (pl.concat([rows.filter(pl.col("src") != "table"), newest])
            .group_by(KEY).agg(
                *([pl.col("batch_id").unique().sort().alias("batch_ids"),
                   pl.col("batch_id").filter(pl.col("src") == "table").unique().sort().alias("table_batches"),
                   pl.col("batch_id").filter(pl.col("src") == "stated").unique().sort().alias("stated_batches")]
                  if lists else []),
                table=pl.col("amount").filter(pl.col("src") == "table").sum(),
                has_table=(pl.col("src") == "table").any(),
                stated=pl.col("amount").filter(pl.col("src") == "stated").sum(),
                has_stated=(pl.col("src") == "stated").any(),
                items=pl.col("amount").filter(pl.col("src") == "items").sum(),
                has_items=(pl.col("src") == "items").any())
            .with_columns(*[pl.when(pl.col(f"has_{c}")).then(pl.col(c)).otherwise(None).cast(pl.Int64).alias(c)
                            for c in ("table", "stated", "items")])
            .drop("has_table", "has_stated", "has_items"))
    known = set(tree)
    depth = _depths(tree)
    kids = children_of(tree)
    base = base.with_columns(pl.col("category_code").replace_strict(
        {c: tree[c] for c in known}, default=None, return_dtype=pl.String).alias("parent"))
    levels = sorted({depth.get(c, 0) for c in base["category_code"].unique().to_list()} | set(depth.values()),
                    reverse=True)
    done: list[pl.DataFrame] = []
    below = pl.DataFrame(schema={**{k: RESOLVED_SCHEMA[k] for k in KEY}, "amount": pl.Int64, "parent": pl.String,
                                 **({"batch_ids": pl.List(pl.Int64)} if lists else {})})
    for d in levels:
        at = base.filter(pl.col("category_code").replace_strict(depth, default=0, return_dtype=pl.Int64) == d)
        sums = (below.filter(pl.col("parent").is_not_null() & pl.col("amount").is_not_null())
                .group_by("measure", "unit_id", "fiscal_year", "parent")
                .agg(*([pl.col("batch_ids").list.explode(keep_nulls=False, empty_as_null=False).unique().sort()
                        .alias("child_batches")] if lists else []),
                     children=pl.col("amount").sum(), parts=pl.len().cast(pl.Int64))
                .rename({"parent": "category_code"}))
        sums = sums.filter(pl.col("category_code").replace_strict(depth, default=-1, return_dtype=pl.Int64) == d)
        level = at.join(sums, on=KEY, how="full", coalesce=True).with_columns(
            pl.col("category_code").replace_strict({c: tree[c] for c in known}, default=None,
                                                   return_dtype=pl.String).alias("parent"),
            pl.col("category_code").replace_strict({c: len(kids.get(c, [])) for c in known}, default=0,
                                                   return_dtype=pl.Int64).alias("parts_expected"),
            pl.coalesce(pl.col("table"), pl.col("stated")).alias("published"),
        ).with_columns(
            pl.coalesce(pl.col("published"), _add(pl.col("children"), pl.col("items"))).alias("amount"),
            pl.when(pl.col("published").is_not_null()).then(pl.lit("published")).otherwise(pl.lit("derived"))
            .alias("basis"),
            pl.when(pl.col("table").is_not_null()).then(pl.lit("disclosure"))
            .when(pl.col("stated").is_not_null()).then(pl.lit("budgets"))
            .when(pl.col("children").is_not_null()).then(pl.lit("children"))
            .otherwise(pl.lit("line_items")).alias("source"),
            *([pl.when(pl.col("table").is_not_null()).then(pl.col("table_batches"))
               .when(pl.col("stated").is_not_null()).then(pl.col("stated_batches"))
               .otherwise(pl.concat_list(pl.col("batch_ids").fill_null([]), pl.col("child_batches").fill_null([]))
                          .list.unique().list.sort()).alias("batch_ids")] if lists else []),
            pl.col("parts").fill_null(0),
        )
        done.append(level)
        below = level.select(*KEY, "amount", "parent", *(["batch_ids"] if lists else []))
    if not lists:
        return pl.concat([f.select(*KEY, "amount") for f in done], how="vertical_relaxed").cast(
            {k: RESOLVED_SCHEMA[k] for k in (*KEY, "amount")})
    out = pl.concat([f.select(list(RESOLVED_SCHEMA)) for f in done], how="vertical_relaxed")
    return out.cast(RESOLVED_SCHEMA).sort(KEY)


def findings(resolved: pl.DataFrame) -> list[dict]:
    """``source-mismatch``: where a published figure and another source for the same node differ.

    Line items (or a budgets file) are reconciled against the published table, never added to it.
    """
    out = []
    rows = resolved.filter(pl.col("published").is_not_null() & (
        (pl.col("items").is_not_null() & (pl.col("items") != pl.col("published")))
        | (pl.col("table").is_not_null() & pl.col("stated").is_not_null() & (pl.col("stated") != pl.col("table")))))
    for r in rows.iter_rows(named=True):
        other, other_source = (r["items"], "line_items") if r["items"] is not None and r["items"] != r["published"] \
            else (r["stated"], "budgets")
        out.append({"code": "source-mismatch", "unit_id": r["unit_id"], "fiscal_year": r["fiscal_year"],
                    "category_code": r["category_code"], "stage": MEASURE_STAGE.get(r["measure"], r["measure"]),
                    "published_fen": r["published"], "published_source": r["source"],
                    "other_fen": other, "other_source": other_source, "difference_fen": other - r["published"]})
    return out
