"""The search index, filled when a batch is published (``ledger.log.events.batch_published``).

``search_entry`` holds each batch's distinct texts (unit names, payees, descriptions, suppliers, procurement
titles) once per kind, unit and year with their row count and amount. SQLite also feeds the FTS5 table
``search_fts`` (``tokenize='trigram'``); PostgreSQL has a pg_trgm GIN index on ``search_entry.body``.
Migration 0007 builds both and indexes what was already published. ``ledger.read.published.search`` answers queries.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, cast, func, insert, literal, null, select, text

from ledger.store.models import ExpenseEntry, ProcurementRecord, SearchEntry, Unit

FTS_TABLE = "search_fts"
COLUMNS = ["batch_id", "kind", "unit_id", "fiscal_year", "body", "row_count", "amount_fen"]


def index_batch(conn: Connection, batch_id: int | None = None) -> None:
    """Add the searchable texts of ``batch_id`` (every batch when None) to the search index."""
    s, u = SearchEntry.__table__, Unit.__table__
    no_year = cast(null(), Integer)
    units = select(u.c.batch_id, literal("unit"), u.c.id, no_year, u.c.name, literal(1), cast(null(), Integer)) \
        .where(u.c.batch_id.is_not(None))
    parts = [units.where(u.c.batch_id == batch_id) if batch_id is not None else units, *text_selects(batch_id)]
    for q in parts:
        conn.execute(insert(s).from_select(COLUMNS, q))
    if conn.dialect.name == "sqlite":
        where = "" if batch_id is None else " WHERE batch_id = :b"
        conn.execute(text(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id, body FROM search_entry{where}"),
                     {} if batch_id is None else {"b": batch_id})


def text_selects(batch_id: int | None) -> list:
    """The GROUP BYs over stored rows that give a batch's (or every batch's) row texts, as ``COLUMNS``."""
    e, p = ExpenseEntry.__table__, ProcurementRecord.__table__
    out = []
    for kind, tbl, col, amount in (("payee", e, e.c.payee, e.c.amount_fen),
                                   ("description", e, e.c.description, e.c.amount_fen),
                                   ("supplier", p, p.c.supplier_name, p.c.contract_fen),
                                   ("title", p, p.c.title, p.c.contract_fen)):
        q = select(tbl.c.batch_id, literal(kind), tbl.c.unit_id, tbl.c.fiscal_year, col, func.count(), func.sum(amount)) \
            .where(col.is_not(None), col != "") \
            .group_by(tbl.c.batch_id, tbl.c.unit_id, tbl.c.fiscal_year, col)
        out.append(q.where(tbl.c.batch_id == batch_id) if batch_id is not None else q)
    return out


def is_index_object(name: str | None, type_: str) -> bool:
    """True for the search index's own objects that the models do not describe (FTS5 tables on SQLite)."""
    return bool(name) and type_ == "table" and name.startswith(FTS_TABLE)
