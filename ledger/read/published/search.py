"""Search over units, payees, descriptions, suppliers and procurement titles, Chinese included.

``ledger.store.derived.search_index.index_batch`` runs in the publish hook (``ledger.log.events.batch_published``): it adds the batch's
texts to ``search_entry``, once per kind, unit and year with their row count and amount, each naming its
text in ``search_text`` (every distinct text once). SQLite's FTS5 table ``search_fts`` (``tokenize='trigram'``)
and PostgreSQL's pg_trgm GIN index cover ``search_text.body`` (migration 0013_search_text).

Trigrams need at least three characters: a query of three or more uses the index; a shorter one
(two-character Chinese names such as 王芳 are common) scans ``search_text`` with LIKE, which holds each
distinct text once rather than one per line item, so the scan stays small.
Superseded batches drop out of the answers, as everywhere else, and so does a procurement row replaced by
a newer state of its ocid (the replacing batch's entries take its count and amount back). Amounts keep
their currency: a UAH contract is never shown as yuan.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    column,
    func,
    or_,
    select,
    table,
    text,
)

from ledger.money import format_yuan
from ledger.read.privacy import redactor as privacy
from ledger.read.queries import QueryError
from ledger.store.batches import live
from ledger.store.derived.search_index import FTS_TABLE
from ledger.store.models import SearchEntry, SearchText, Unit

KINDS = ("unit", "payee", "supplier", "title", "description")
MAX_QUERY = 100
MAX_LIMIT = 100
TRIGRAM = 3


def normalise(query: str) -> str:
    """NFKC (full-width letters and digits become plain ones) and single spaces."""
    return " ".join(unicodedata.normalize("NFKC", query).split())


@dataclass(frozen=True)
class SearchResult:
    query: str
    method: str  # trigram | scan
    hits: list[dict[str, Any]]
    more: bool


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(conn: Connection, query: str, kinds: list[str] | None = None, limit: int = 20, *,
           reveal: bool = False) -> SearchResult:
    """Texts containing ``query`` (case-insensitive for Latin letters), grouped by kind, unit and year.

    Units first, then payees, suppliers, titles and descriptions; within a kind the largest amounts
    first. ``method`` says whether the trigram index answered or a scan (queries under three characters).
    Unless ``reveal`` (a restricted reader), natural persons' names are never found: their payee and
    supplier entries are left out and other texts show the label in their place (``ledger.read.privacy``).
    """
    q = normalise(query)
    if not q:
        raise QueryError("q", "is empty: give at least one character")
    if len(q) > MAX_QUERY:
        raise QueryError("q", f"is longer than {MAX_QUERY} characters")
    for k in kinds or []:
        if k not in KINDS:
            raise QueryError("kind", f"{k!r} is not one of {', '.join(KINDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"must be between 1 and {MAX_LIMIT}")
    s, t, u = SearchEntry.__table__, SearchText.__table__, Unit.__table__
    redact = privacy.for_reader(conn, reveal=reveal)
    hidden = sorted(redact.names())
    # A unit stays findable when the batch that first named it is superseded (units are not per batch).
    conds = [or_(s.c.kind == "unit", live(s.c.batch_id)),
             or_(s.c.replaced_batch_id.is_(None), live(s.c.replaced_batch_id))]
    if kinds:
        conds.append(s.c.kind.in_(kinds))
    if hidden:
        conds.append(or_(s.c.kind.not_in(("payee", "supplier")),
                         t.c.body.not_in(bindparam("hidden", hidden, expanding=True))))
    method = "trigram" if len(q) >= TRIGRAM else "scan"
    if method == "trigram" and conn.dialect.name == "sqlite":
        phrase = '"' + q.replace('"', '""') + '"'
        fts = select(column("rowid")).select_from(table(FTS_TABLE)).where(text(f"{FTS_TABLE} MATCH :phrase"))
        conds.append(s.c.text_id.in_(fts.params(phrase=phrase)))
    else:
        # the texts first (each once), then their entries through ix_search_entry_text_id
        conds.append(s.c.text_id.in_(select(t.c.id).where(t.c.body.ilike(_like(q), escape="\\"))))
    order = case({k: i for i, k in enumerate(KINDS)}, value=s.c.kind)
    amount = func.sum(s.c.amount_fen)
    stmt = (
        select(s.c.kind, t.c.body, s.c.fiscal_year, u.c.code, u.c.name, func.sum(s.c.row_count), amount, s.c.currency)
        .select_from(s.join(t, t.c.id == s.c.text_id).outerjoin(u, u.c.id == s.c.unit_id))
        .where(*conds)
        .group_by(s.c.kind, t.c.body, s.c.fiscal_year, u.c.code, u.c.name, s.c.currency)
        .having(func.sum(s.c.row_count) > 0)  # a text only replaced states carried is gone
        .order_by(order, amount.desc().nulls_last(), u.c.code, s.c.fiscal_year.desc(), t.c.body)
    )
    hits: list[dict[str, Any]] = []
    # Texts that only matched through a hidden name drop out after the query, so read on until enough remain.
    for kind, body, year, code, name, rows, fen, currency in conn.execute(stmt.limit((limit + 1) * (1 if reveal else 5))):
        if len(hits) > limit:
            break
        hit = redact.hit({
            "kind": kind, "text": body, "unit_code": code, "unit_name": name, "fiscal_year": year,
            "row_count": int(rows), "amount_fen": None if kind == "unit" or fen is None else int(fen),
            "amount_yuan": None if kind == "unit" or fen is None or currency not in (None, "CNY")
            else format_yuan(int(fen), grouping=False),
            "currency": None if kind == "unit" or fen is None else (currency or "CNY"),
        }, q)
        if hit is not None:
            hits.append(hit)
    return SearchResult(query=q, method=method, hits=hits[:limit], more=len(hits) > limit)
