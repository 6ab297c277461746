"""A run's target results as JSON text, built column-wise: what ``sunshine check --json`` prints.

``iter_target_results`` builds one dict per result (a SQLAlchemy row, ``json.loads`` of its detail, two
``Decimal``) and the CLI encodes each with ``json.dumps``: about 28 µs a result, 10 CPU-s for the 360,000
results of a 1M-entry ledger. ``result_lines`` reads the same rows, in the same order, on the driver's
cursor a chunk at a time and writes each result's text with polars expressions, byte for byte
``json.dumps(item, ensure_ascii=False, default=str)`` of the dict ``iter_target_results`` yields
(``tests/figures/test_result_lines.py`` compares them on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl
from sqlalchemy import BigInteger, Connection, cast, func, select

from ledger.rules.registry import j_list, j_num
from ledger.store.models import PolicyTarget, TargetResult, Unit

CHUNK_ROWS = 20_000
DETAIL = pl.Struct({"unit": pl.String, "baseline_years": pl.List(pl.Int64), "missing_years": pl.List(pl.Int64),
                    "growth_pct_x100": pl.Int64})
SCHEMA = {"target_id": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "status": pl.String,
          "baseline": pl.Int64, "cap": pl.Int64, "value": pl.Int64, "excess": pl.Int64, "pct_x100": pl.Int64,
          "detail_json": pl.String}


def _hundredths(h: pl.Expr) -> pl.Expr:
    """An integer count of hundredths as ``str(Decimal)`` with two places (``-0.05``, ``0.00``, ``12.34``)."""
    a = h.abs()
    text = pl.concat_str((a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2))
    return pl.when(h.is_null()).then(pl.lit("null")).otherwise(
        pl.concat_str(pl.lit('"'), pl.when(h < 0).then(pl.lit("-")).otherwise(pl.lit("")), text, pl.lit('"')))


def _enc(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def result_lines(conn: Connection, run_id: int, *, year: int | None = None) -> Iterator[str]:
    """The JSON text of each result ``iter_target_results(conn, run_id, year=year)`` yields, in its order."""
    r, t, u = TargetResult.__table__, PolicyTarget.__table__, Unit.__table__
    heads = {tid: f'{{"run_id": {_enc(run_id)}, "target_id": {_enc(tid)}, "title": {_enc(title)}, '
                  f'"source_document": {_enc(doc)}, "measure": {_enc(measure)}, '
             for tid, title, doc, measure in conn.execute(select(t.c.id, t.c.title, t.c.source_document, t.c.measure))}
    heads_frame = pl.DataFrame(list(heads.items()), schema={"target_id": pl.String, "_head": pl.String}, orient="row")
    q = (select(r.c.target_id, r.c.unit_id, r.c.fiscal_year, r.c.status, r.c.baseline_fen, r.c.cap_fen, r.c.value_fen,
                r.c.excess_fen, cast(func.round(r.c.excess_pct * 100), BigInteger), r.c.detail_json)
         .join(t, t.c.id == r.c.target_id).join(u, u.c.id == r.c.unit_id)
         .where(r.c.run_id == run_id).order_by(r.c.target_id, u.c.code, r.c.fiscal_year))
    if year is not None:
        q = q.where(r.c.fiscal_year == year)
    units: pl.DataFrame | None = None
    for rows in _chunks(conn, q):
        if units is None:  # every unit's code and name encoded once
            units = pl.DataFrame(
                [(i, f'"unit_code": {_enc(c)}, "unit_name": {_enc(n)}, ')
                 for i, c, n in conn.execute(select(u.c.id, u.c.code, u.c.name))],
                schema={"unit_id": pl.Int64, "_unit": pl.String}, orient="row")
        yield from _lines(pl.DataFrame(rows, schema=SCHEMA, orient="row"), heads_frame, units)


def _chunks(conn: Connection, q) -> Iterator[list]:
    """The rows of ``q``, ``CHUNK_ROWS`` at a time: SQLite on the driver's cursor (no row objects), PostgreSQL
    on a server-side cursor (``stream_results``), so memory stays bounded at millions of results."""
    if conn.dialect.name != "sqlite":
        yield from conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(q).partitions()
        return
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(CHUNK_ROWS):
            yield rows
    finally:
        cur.close()


def _few(df: pl.DataFrame, column: str) -> pl.Expr:
    """A string column of a few distinct values (statuses, measure units) encoded once per value."""
    values = df.get_column(column).unique().to_list()
    return pl.col(column).replace_strict({v: _enc(v) for v in values}, return_dtype=pl.String)


def _lines(df: pl.DataFrame, heads: pl.DataFrame, units: pl.DataFrame) -> list[str]:
    d = pl.col("detail_json").fill_null("{}").str.json_decode(DETAIL)
    df = (df.join(heads, on="target_id", how="left", maintain_order="left")
          .join(units, on="unit_id", how="left", maintain_order="left")
          .with_columns(d.alias("d")))
    df = df.with_columns(pl.col("d").struct.field("unit").fill_null("fen").alias("_measure_unit"))
    return df.select(pl.concat_str(
        pl.col("_head"), pl.col("_unit"),
        pl.lit('"fiscal_year": '), j_num(pl.col("fiscal_year")), pl.lit(', "status": '), _few(df, "status"),
        pl.lit(', "baseline": '), j_num(pl.col("baseline")), pl.lit(', "cap": '), j_num(pl.col("cap")),
        pl.lit(', "value": '), j_num(pl.col("value")), pl.lit(', "excess": '), j_num(pl.col("excess")),
        pl.lit(', "excess_pct": '), _hundredths(pl.col("pct_x100")),
        pl.lit(', "growth_pct": '), _hundredths(pl.col("d").struct.field("growth_pct_x100")),
        pl.lit(', "measure_unit": '), _few(df, "_measure_unit"),
        pl.lit(', "baseline_years": '), j_list(pl.col("d").struct.field("baseline_years").fill_null([])),
        pl.lit(', "missing_years": '), j_list(pl.col("d").struct.field("missing_years").fill_null([])),
        pl.lit("}"),
    )).to_series().to_list()
