"""Hiding natural persons' names in what the public reads, while every amount stays as it is.

A ``Redactor`` is made per request (``for_reader``): ``reveal=True`` (a finance, discipline or admin
token) leaves everything as stored. Otherwise a personal payee or supplier becomes the label
(``个人（已隐去）``), the row's own description or title has that name replaced too, a filter by a
hidden name matches nothing, and free texts (flag messages, search hits) have every hidden name
replaced. Rows keep their amounts and their own line: two persons never merge into one visible payee.

The set of hidden names (for filters, search and free texts) is read from each batch's distinct names,
kept at publish (``ledger.store.derived.batch_names``), and classified here, kept per database and rules
with the batches read: a new batch (its names only) or a change of ``[privacy]`` is seen at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.log.canonical import ROW_COLUMNS
from ledger.read.privacy import rules as privacy_rules
from ledger.store.models import BatchName, ExpenseEntry, ImportBatch, ProcurementRecord

# dataset → (name column, payee-type column or None, columns of free text that may repeat the name)
NAMED = {
    "expenses": ("payee", "payee_type", ("description",)),
    "procurement": ("supplier_name", "supplier_type", ("title",)),
}
FILTERS = {"expenses": ("payee", "supplier"), "procurement": ("supplier",)}
SCRUBBED = {"flags": ("message_zh", "message_en", "figures")}
NO_MATCH = "\u200b" * 301  # a filter value no stored name equals (names are at most 300 characters)

_lock = threading.Lock()
# (database, rules) → ((batches, newest, batch ids) read, hidden names)
_names_cache: dict[tuple, tuple[tuple[int, int, frozenset[int]], frozenset[str]]] = {}
_decisions: dict[tuple[str, str, str | None], bool] = {}  # (rules, name, type) → a person's? shared by requests
MAX_DECISIONS = 500_000
_rules_cache: dict[tuple, privacy_rules.PrivacyRules] = {}


def current_rules() -> privacy_rules.PrivacyRules:
    """The rules of the configuration file in force, read again when the file changes."""
    path = privacy_rules.config_path()
    try:
        key = (str(path), Path(path).stat().st_mtime_ns)
    except OSError:
        key = (str(path), None)
    with _lock:
        got = _rules_cache.get(key)
    if got is None:
        got = privacy_rules.load(path)
        with _lock:
            _rules_cache.clear()
            _rules_cache[key] = got
    return got


def stored_names(conn: Connection, batches: Iterable[int] | None = None) -> list[tuple[str, str, str | None, int]]:
    """Every distinct (dataset, name, payee type, rows) of the stored payees and suppliers, superseded included
    (of ``batches`` only, when given): the union of what each batch kept at publish (``batch_name``), rows summed."""
    t = BatchName.__table__
    q = select(t.c.dataset, t.c.name, t.c.kind, func.sum(t.c.row_count)).group_by(t.c.dataset, t.c.name, t.c.kind)
    if batches is not None:
        q = q.where(t.c.batch_id.in_(sorted(batches)))
    return [(dataset, name, kind, int(rows)) for dataset, name, kind, rows in conn.execute(q)]


def _hidden_names(conn: Connection, rules: privacy_rules.PrivacyRules) -> frozenset[str]:
    """The names ``rules`` hide, kept per database and rules with the batches they were read from: a batch
    published since (however it was numbered: two imports may commit out of id order) adds its own names only."""
    b = ImportBatch.__table__
    count, newest = conn.execute(select(func.count(), func.coalesce(func.max(b.c.id), 0))).one()
    key = (str(conn.engine.url), rules.fingerprint())
    with _lock:
        seen, names = _names_cache.get(key, ((0, 0, frozenset()), frozenset()))
    if (count, newest) == seen[:2]:
        return names
    batches = frozenset(conn.execute(select(b.c.id)).scalars())
    if not batches >= seen[2]:  # a batch gone (a restored backup): start again
        seen, names = (0, 0, frozenset()), frozenset()
    fresh = batches - seen[2]
    if fresh:  # many (a new process): every batch's, not an IN list of thousands of ids
        sql = "SELECT name, kind FROM batch_name"
        if seen[2] and len(fresh) <= 500:  # ids are integers of our own reading: written into the statement
            sql += f" WHERE batch_id IN ({', '.join(str(int(i)) for i in sorted(fresh))})"
        cursor = conn.connection.driver_connection.cursor()  # a Row per name costs as much as the read
        try:
            cursor.execute(sql)
            pairs = set(cursor.fetchall())  # each (name, type) once, whatever the datasets and batches
        finally:
            cursor.close()
        fingerprint = rules.fingerprint()
        names = names | {name for name, kind in pairs if _decided(rules, fingerprint, name, kind)}
    with _lock:
        if len(_names_cache) > 32:
            _names_cache.clear()
        _names_cache[key] = ((len(batches), max(batches, default=0), batches), names)
    return names


def _decided(rules: privacy_rules.PrivacyRules, fingerprint: str, name: str, kind: str | None) -> bool:
    """``rules.classify(name, kind)`` is a rule, decided once per process (a known payee in a new batch is free)."""
    key = (fingerprint, name, kind)
    got = _decisions.get(key)
    if got is None:
        got = rules.classify(name, kind) is not None
        if len(_decisions) >= MAX_DECISIONS:
            _decisions.clear()
        _decisions[key] = got
    return got


class Redactor:
    """Applies the privacy rules to rows, filters and texts read for one caller."""

    def __init__(self, rules: privacy_rules.PrivacyRules, *, reveal: bool = False, lang: str = "zh",
                 conn: Connection | None = None):
        self.rules = rules
        self.reveal = reveal
        self.label = rules.label_en if lang == "en" else rules.label_zh
        self._conn = conn
        self._names: frozenset[str] | None = None
        self._pattern: re.Pattern | None = None
        self._fingerprint = rules.fingerprint()

    def personal(self, name: str | None, kind: str | None = None) -> bool:
        """True when ``name`` (with the row's payee type, if any) is a natural person's."""
        return name is not None and _decided(self.rules, self._fingerprint, name, kind)

    @property
    def active(self) -> bool:
        return not self.reveal

    def names(self) -> frozenset[str]:
        """Every stored name this caller may not see (empty when revealing)."""
        if self.reveal:
            return frozenset()
        if self._names is None:
            self._names = _hidden_names(self._conn, self.rules) if self._conn is not None else frozenset()
        return self._names

    def text(self, value: str | None) -> str | None:
        """``value`` with every hidden name replaced by the label."""
        if value is None or self.reveal:
            return value
        if self._pattern is None:
            names = sorted((n for n in self.names() if n.strip()), key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(n) for n in names)) if names else re.compile(r"(?!x)x")
        return self._pattern.sub(self.label, value)

    def _json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._json(v) for v in value]
        if isinstance(value, dict):
            return {k: self._json(v) for k, v in value.items()}
        return value

    def row(self, dataset: str, row: dict[str, Any]) -> dict[str, Any]:
        """One output row (as ``ledger.read.queries`` builds it) with personal names hidden."""
        if self.reveal:
            return row
        named = NAMED.get(dataset)
        if named:
            col, kind_col, texts = named
            name = row.get(col)
            if self.personal(name, row.get(kind_col) if kind_col else None):
                row = dict(row)
                row[col] = self.label
                for t in texts:
                    if row.get(t):
                        row[t] = row[t].replace(name.strip(), self.label) if name.strip() else row[t]
            return row
        scrub = SCRUBBED.get(dataset)
        if scrub and self.names():
            row = dict(row)
            for c in scrub:
                row[c] = self._json(row.get(c))
        return row

    def rows(self, dataset: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows if self.reveal else [self.row(dataset, r) for r in rows]

    def tuples(self, dataset: str, fields: list[str], rows: list[tuple]) -> list[tuple]:
        """Download rows (tuples in ``fields`` order) with personal names hidden."""
        if self.reveal or (dataset not in NAMED and dataset not in SCRUBBED):
            return rows
        if dataset in NAMED:  # the hot path of large downloads: only a person's row is rebuilt
            col, kind_col, texts = NAMED[dataset]
            at, kind_at = fields.index(col), fields.index(kind_col)
            text_at = [fields.index(t) for t in texts]
            out = []
            for r in rows:
                name = r[at]
                if name is not None and self.personal(name, r[kind_at]):
                    r = list(r)
                    r[at] = self.label
                    for i in text_at:
                        if r[i] and name.strip():
                            r[i] = r[i].replace(name.strip(), self.label)
                    r = tuple(r)
                out.append(r)
            return out
        out = []
        for r in rows:
            d = self.row(dataset, dict(zip(fields, r, strict=True)))
            out.append(tuple(json.dumps(d[f], ensure_ascii=False) if isinstance(d[f], dict | list) and
                             not isinstance(r[i], dict | list) else d[f] for i, f in enumerate(fields)))
        return out

    def filters(self, dataset: str, filters):
        """``filters`` with hidden names taken out of the name filters (a filter left empty matches nothing)."""
        keys = FILTERS.get(dataset)
        if self.reveal or not keys or filters is None:
            return filters
        changes = {}
        for k in keys:
            values = getattr(filters, k, None)
            if values:
                kept = [v for v in values if not self.personal(v) and not self._stored_as_personal(v)]
                changes[k] = kept or [NO_MATCH]
        return dataclasses.replace(filters, **changes) if changes else filters

    def _stored_as_personal(self, name: str) -> bool:
        """Whether a stored row files ``name`` as a person's (its payee or supplier type), as ``names()``
        would say, asked of that name alone through the name indexes: building ``names()`` groups every
        stored payee (3.7 s at 1M entries on PostgreSQL, on a worker's first name filter after each import)."""
        if self._names is not None or self._conn is None:
            return name in self.names()
        e, p = ExpenseEntry.__table__, ProcurementRecord.__table__
        types = select(e.c.payee_type).where(e.c.payee == name).distinct().union(
            select(p.c.supplier_type).where(p.c.supplier_name == name).distinct())
        return any(self.rules.classify(name, kind) for kind in self._conn.execute(types).scalars())

    def hit(self, hit: dict[str, Any], query: str) -> dict[str, Any] | None:
        """A search hit as this caller may see it, or None when it only matched a hidden name."""
        if self.reveal:
            return hit
        if hit["kind"] in ("payee", "supplier") and (hit["text"] in self.names() or self.personal(hit["text"])):
            return None
        text = self.text(hit["text"])
        if text == hit["text"]:
            return hit
        if query.lower() not in text.lower():
            return None
        return {**hit, "text": text}


def for_reader(conn: Connection | None, *, reveal: bool = False, lang: str = "zh") -> Redactor:
    """A redactor for one caller: ``reveal`` for a restricted user (every name shown)."""
    return Redactor(current_rules(), reveal=reveal, lang=lang, conn=conn)


# The transparency log's canonical rows (``ledger.log.canonical``): table → (name column, free-text column).
CANONICAL = {"expense_entry": ("payee", "description"), "procurement_record": ("supplier_name", "title")}


def canonical_lines(redact: Redactor, table: str, lines: list[bytes]) -> list[bytes]:
    """A batch's canonical row lines with personal names hidden (a line changed so no longer hashes to
    the manifest: a batch holding personal data verifies in full only for a restricted reader)."""
    if redact.reveal or table not in CANONICAL:
        return lines
    cols = ROW_COLUMNS[table][1]
    name_at, text_at = (cols.index(c) + 1 for c in CANONICAL[table])
    out = []
    for line in lines:
        row = json.loads(line)
        name = row[name_at]
        if redact.personal(name) or name in redact.names():  # names() holds those a type column made personal
            row[name_at] = redact.label
            if row[text_at] and name.strip():
                row[text_at] = row[text_at].replace(name.strip(), redact.label)
            line = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
        out.append(line)
    return out
