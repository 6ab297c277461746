"""The search index, filled when a batch is published (``ledger.log.events.batch_published``).

``search_text`` holds each distinct text (unit names, payees, descriptions, suppliers, procurement titles)
once, and only a text not seen before is tokenised: SQLite's FTS5 table ``search_fts``
(``tokenize='trigram'``) and PostgreSQL's pg_trgm GIN index cover ``search_text.body``. ``search_entry``
holds each batch's texts (``text_id``) once per kind, unit and year with their row count and amount.
Migration 0013_search_text moved the texts out of ``search_entry`` (1.32M entries named 30,008 texts
for 1M rows). ``ledger.read.published.search`` answers queries.

The counts and sums come from the importer's frames when it has them (``ledger.log.batch_frames``
``SearchSums``: no GROUP BY over the stored rows), else from GROUP BYs over the stored rows
(``text_selects``), as for procurement replacements, corrections and rebuilds.
"""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Connection, Integer, String, cast, func, insert, literal, null, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ledger.store.batches import bulk_insert
from ledger.store.bulk import keys, tuning
from ledger.store.models import (
    ExpenseEntry,
    ProcurementRecord,
    ProcurementReplacement,
    SearchEntry,
    SearchText,
    Unit,
)

FTS_TABLE = "search_fts"
UNIQUE_BODY = "uq_search_text_body"  # migration 0013: body on SQLite, md5(body) on PostgreSQL (B-tree keys are bounded)
COLUMNS = ["batch_id", "kind", "unit_id", "fiscal_year", "body", "row_count", "amount_fen", "currency",
           "replaced_batch_id"]
ENTRY_COLUMNS = [c if c != "body" else "text_id" for c in COLUMNS]
TEXTS_PER_STATEMENT = 20_000


def index_batch(conn: Connection, batch_id: int | None = None,
                sums: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> None:
    """Add the searchable texts of ``batch_id`` (every batch when None) to the search index.

    ``sums``: the batch's expense and procurement texts already counted and summed from the rows as
    written (``ledger.log.batch_frames.BatchFrames.search_sums``: ``COLUMNS`` but ``batch_id`` and
    ``replaced_batch_id``, each text a ``code`` into the second frame's ``body``); without it they are
    grouped from the stored rows. Texts of procurement rows this batch replaced
    (``procurement_replacement``) are added with a negative count and amount, so the sums search
    reads leave a replaced state out.
    """
    before = _last_text_id(conn)
    u = Unit.__table__
    no_int, no_currency = cast(null(), Integer), cast(null(), String(3))
    units = select(u.c.batch_id, literal("unit"), u.c.id, no_int, u.c.name, literal(1), no_int, no_currency, no_int) \
        .where(u.c.batch_id.is_not(None))
    selects = text_selects(batch_id)
    _insert_grouped(conn, units.where(u.c.batch_id == batch_id) if batch_id is not None else units)
    if sums is None:
        rows, taken_back = selects[:4], selects[4:]
    else:
        rows, taken_back = [], selects[4:]  # the rows' own texts come from the frames
        entries, vocabulary = sums
        if entries.height:
            ids = add_texts(conn, vocabulary.get_column("body").to_list()).join(vocabulary, on="body").select("code", "text_id")
            # in text order: the text_id index takes its keys nearly in order (1.0 of 3.9 CPU-s for 1.32M entries)
            bulk_insert(conn, SearchEntry.__table__, entries.join(ids, on="code", how="left").select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), "kind", "unit_id", "fiscal_year", "text_id", "row_count",
                "amount_fen", "currency").sort("text_id", "kind", "unit_id", "fiscal_year", "currency", nulls_last=True))
    for q in [*rows, *taken_back]:
        _insert_grouped(conn, q)
    if conn.dialect.name == "sqlite":  # tokenise the texts this call added, and only those
        conn.execute(text(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id, body FROM search_text WHERE id > :b"),
                     {"b": before})
        return
    # statistics with the texts: an unanalysed search_text costs a trigram query a JIT compile (+50 ms)
    added = conn.execute(select(func.count()).where(SearchText.id > before)).scalar_one()
    with conn.connection.driver_connection.cursor() as cur:
        tuning.analyze_if_grown(cur, "search_text", added)


def _last_text_id(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(SearchText.id), 0))).scalar_one()


def _insert_grouped(conn: Connection, q) -> None:
    """Insert one GROUP BY's rows (``COLUMNS``): its new texts into ``search_text``, then the entries naming them."""
    s, t = SearchEntry.__table__, SearchText.__table__
    grouped = q.subquery()
    cols = list(grouped.c)
    body = cols[4]
    new = select(body).distinct()
    if conn.dialect.name == "sqlite":
        conn.execute(insert(t).from_select(["body"], new).prefix_with("OR IGNORE"))
        match = t.c.body == body
    else:
        conn.execute(pg_insert(t).from_select(["body"], new).on_conflict_do_nothing(index_elements=[func.md5(t.c.body)]))
        match = (func.md5(t.c.body) == func.md5(body)) & (t.c.body == body)
    rows = select(*cols[:4], t.c.id, *cols[5:]).select_from(grouped.join(t, match))
    # the texts' keys (batch, unit, text) are copied from stored rows whose own keys were checked: no per-row check
    with keys.unchecked(conn, s, keys.MIN_ROWS, None):
        conn.execute(insert(s).from_select(ENTRY_COLUMNS, rows))


def add_texts(conn: Connection, bodies: list[str]) -> pl.DataFrame:
    """The ids of ``bodies`` in ``search_text`` (columns ``body``, ``text_id``), adding the ones not there yet."""
    found = []
    for start in range(0, len(bodies), TEXTS_PER_STATEMENT):
        part = bodies[start:start + TEXTS_PER_STATEMENT]
        if conn.dialect.name == "sqlite":
            values = json.dumps(part, ensure_ascii=False)
            conn.execute(text("INSERT OR IGNORE INTO search_text (body) SELECT value FROM json_each(:v)"), {"v": values})
            found += conn.execute(text("SELECT t.body, t.id FROM json_each(:v) j JOIN search_text t ON t.body = j.value"),
                                  {"v": values}).all()
        else:
            conn.execute(text("INSERT INTO search_text (body) SELECT b FROM unnest(CAST(:v AS text[])) AS b "
                              "ON CONFLICT ((md5(body))) DO NOTHING"), {"v": part})
            found += conn.execute(text("SELECT t.body, t.id FROM unnest(CAST(:v AS text[])) AS b "
                                       "JOIN search_text t ON md5(t.body) = md5(b) AND t.body = b"), {"v": part}).all()
    return pl.DataFrame(found, schema={"body": pl.String, "text_id": pl.Int64}, orient="row")


def text_selects(batch_id: int | None) -> list:
    """The GROUP BYs over stored rows that give a batch's (or every batch's) row texts, as ``COLUMNS``.

    The first four are the rows' own texts (payee, description, supplier, title); the rest take back
    replaced procurement states.
    """
    e, p = ExpenseEntry.__table__, ProcurementRecord.__table__
    no_int = cast(null(), Integer)
    out = []
    for kind, tbl, col, amount in (("payee", e, e.c.payee, e.c.amount_fen),
                                   ("description", e, e.c.description, e.c.amount_fen),
                                   ("supplier", p, p.c.supplier_name, p.c.contract_fen),
                                   ("title", p, p.c.title, p.c.contract_fen)):
        q = select(tbl.c.batch_id, literal(kind), tbl.c.unit_id, tbl.c.fiscal_year, col, func.count(), func.sum(amount),
                   tbl.c.currency, no_int) \
            .where(col.is_not(None), col != "") \
            .group_by(tbl.c.batch_id, tbl.c.unit_id, tbl.c.fiscal_year, col, tbl.c.currency)
        out.append(q.where(tbl.c.batch_id == batch_id) if batch_id is not None else q)
    # A row replaced by a newer state of its ocid stops counting: the replacing batch takes its text back
    # (negative count and amount), valid while the replaced row's batch is live too (``replaced_batch_id``).
    link, old = ProcurementReplacement.__table__, p.alias("replaced_state")
    for kind, col in (("supplier", old.c.supplier_name), ("title", old.c.title)):
        q = select(link.c.batch_id, literal(kind), old.c.unit_id, old.c.fiscal_year, col, -func.count(),
                   -func.sum(old.c.contract_fen), old.c.currency, old.c.batch_id) \
            .select_from(link.join(old, old.c.id == link.c.replaced_id)) \
            .where(col.is_not(None), col != "") \
            .group_by(link.c.batch_id, old.c.batch_id, old.c.unit_id, old.c.fiscal_year, col, old.c.currency)
        out.append(q.where(link.c.batch_id == batch_id) if batch_id is not None else q)
    return out


def rebuild(conn: Connection) -> None:
    """Empty the index and index every batch again (the index is derived: nothing is lost)."""
    conn.execute(text("DELETE FROM search_entry"))
    conn.execute(text("DELETE FROM search_text"))
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    index_batch(conn)


def is_index_object(name: str | None, type_: str) -> bool:
    """True for the search index's own objects that the models do not describe (FTS5 tables on SQLite, the
    unique index on the texts, which is an expression on PostgreSQL)."""
    return bool(name) and ((type_ == "table" and name.startswith(FTS_TABLE)) or (type_ == "index" and name == UNIQUE_BODY))
