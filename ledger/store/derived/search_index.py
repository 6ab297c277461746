"""The search index, filled when a batch is published (``ledger.log.events.batch_published``).

``search_entry`` holds each batch's distinct texts (unit names, payees, descriptions, suppliers, procurement
titles) once per kind, unit and year with their row count and amount. SQLite also feeds the FTS5 table
``search_fts`` (``tokenize='trigram'``); PostgreSQL has a pg_trgm GIN index on ``search_entry.body``.
Migration 0007 builds both and indexes what was already published. ``ledger.read.published.search`` answers queries.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, String, cast, func, insert, literal, null, select, text

from ledger.store.bulk import keys
from ledger.store.models import ExpenseEntry, ProcurementRecord, ProcurementReplacement, SearchEntry, Unit

FTS_TABLE = "search_fts"
COLUMNS = ["batch_id", "kind", "unit_id", "fiscal_year", "body", "row_count", "amount_fen", "currency",
           "replaced_batch_id"]


def index_batch(conn: Connection, batch_id: int | None = None) -> None:
    """Add the searchable texts of ``batch_id`` (every batch when None) to the search index.

    Texts of procurement rows this batch replaced (``procurement_replacement``) are added with a
    negative count and amount, so the sums search reads leave a replaced state out.
    """
    s, u = SearchEntry.__table__, Unit.__table__
    no_int, no_currency = cast(null(), Integer), cast(null(), String(3))
    units = select(u.c.batch_id, literal("unit"), u.c.id, no_int, u.c.name, literal(1), no_int, no_currency, no_int) \
        .where(u.c.batch_id.is_not(None))
    parts = [units.where(u.c.batch_id == batch_id) if batch_id is not None else units, *text_selects(batch_id)]
    # the texts' keys (batch, unit) are copied from stored rows whose own keys were checked: no per-row check
    with keys.unchecked(conn, s, keys.MIN_ROWS, None):
        for q in parts:
            conn.execute(insert(s).from_select(COLUMNS, q))
    if conn.dialect.name == "sqlite":
        where = "" if batch_id is None else " WHERE batch_id = :b"
        conn.execute(text(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id, body FROM search_entry{where}"),
                     {} if batch_id is None else {"b": batch_id})


def text_selects(batch_id: int | None) -> list:
    """The GROUP BYs over stored rows that give a batch's (or every batch's) row texts, as ``COLUMNS``."""
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
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    index_batch(conn)


def is_index_object(name: str | None, type_: str) -> bool:
    """True for the search index's own objects that the models do not describe (FTS5 tables on SQLite)."""
    return bool(name) and type_ == "table" and name.startswith(FTS_TABLE)
