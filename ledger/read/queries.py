"""The one read path: lists with filters and keyset pagination, and bulk iterators for downloads.

The API, the charts and the CLI all read through here (aggregates live in
``ledger.read.aggregate``). Every dataset is described once (``DATASETS``): its columns with
their Frictionless types, the filters it understands and the orders it can be sorted by. Only live
rows are shown: a row whose batch was superseded by a correction drops out.

Pages are keyset-paginated: the order always ends with the row id, and the cursor is an opaque
token holding the last row's sort value and id, so a page never skips or repeats rows while
imports land. Money is integer fen; each amount also comes as an exact decimal yuan string.
"""


import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, Engine, and_, func, literal, or_, select

from ledger.read import counts as queries_counts
from ledger.read import year_scope
from ledger.read.counts import COUNT_CAP, total_count  # noqa: F401  (re-exported)
from ledger.read.datasets import DATASETS
from ledger.read.privacy import redactor as privacy
from ledger.read.published import pages as queries_pages
from ledger.read.types import (  # noqa: F401  (re-exported: callers import them from here)
    INT64_MAX,
    Column,
    Dataset,
    Filters,
    NotFound,
    QueryError,
    bounded,
    parse_yuan,
    utc,
    yuan,
)
from ledger.store.batches import current_pin, logged
from ledger.store.models import (
    AuditLog,
    Category,
    CategoryGroup,
    CategoryGroupMember,
    CheckRun,
    FlagReview,
    ImportBatch,
    Unit,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STREAM_CHUNK_ROWS = 5000


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None
    limit: int
    sort: str
    total_exact: bool | None = None  # False: more than ``COUNT_CAP`` rows match and ``total`` is that cap


def _where(ds: Dataset, filters: Filters) -> list[ColumnElement]:
    conds = []
    for name in sorted(filters.given()):
        build = ds.filters.get(name)
        if build is None:
            raise QueryError(name, f"{ds.name} cannot be filtered by {name}")
        conds.append(build(getattr(filters, name)))
    if ds.always is not None:
        conds.append(ds.always())
    return conds


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact; never a float
    if isinstance(value, dt.datetime):
        return utc(value)
    return value


_builders: dict[str, Any] = {}


def _row_builder(ds: Dataset):
    """A function turning one result tuple of ``ds`` into its output dict, generated once per dataset.

    One dict display per row with each conversion written inline (json text parsed, datetimes in
    UTC, Decimals as exact strings, a yuan string beside each fen amount): about twice as fast as
    a loop over the columns, and pages call it a hundred times per request.
    """
    build = _builders.get(ds.name)
    if build is None:
        items = []
        for i, col in enumerate(ds.columns):
            v = f"r[{i}]"
            if col.json:
                expr = f"None if {v} is None else _loads({v})"
            elif col.type in ("integer", "string", "date"):
                expr = v
            elif col.type == "datetime":  # already UTC when read by ledger.read.published.pages on SQLite
                expr = f"None if {v} is None else ({v} if {v}.tzinfo is _UTC else _plain({v}))"
            else:
                expr = f"None if {v} is None else _plain({v})"
            items.append(f"{col.name!r}: {expr}")
            if col.money:
                items.append(f"{col.name.removesuffix('_fen') + '_yuan'!r}: _yuan({v})")
        source = f"def build(r):\n    return {{{', '.join(items)}}}\n"
        scope = {"_loads": json.loads, "_plain": _plain, "_yuan": yuan, "_UTC": dt.UTC}
        exec(compile(source, f"<row builder for {ds.name}>", "exec"), scope)  # source built from our own column names
        build = _builders[ds.name] = scope["build"]
    return build


def _row(ds: Dataset, values) -> dict[str, Any]:
    if len(values) != len(ds.columns):
        raise ValueError(f"{ds.name}: {len(values)} values for {len(ds.columns)} columns")
    return _row_builder(ds)(values)


def encode_cursor(sort: str, value: Any, row_id: int) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR_CHARS = 2048  # an issued cursor is well under 200; a nested JSON bomb is refused before parsing


def decode_cursor(token: str, sort: str) -> tuple[Any, int]:
    try:
        if len(token) > MAX_CURSOR_CHARS:
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        got_sort, value, row_id = json.loads(raw)
        if not isinstance(row_id, int | str) or isinstance(row_id, bool):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise QueryError("cursor", "not a cursor this API issued; start again without it") from None
    if got_sort != sort:
        raise QueryError("cursor", f"the cursor belongs to sort={got_sort}, not sort={sort}")
    if isinstance(row_id, int):
        bounded("cursor", row_id)
    return value, row_id


def _parse_sort(ds: Dataset, sort: str) -> tuple[str, Any, bool]:
    key = sort.removeprefix("-")
    if key not in ds.sorts:
        raise QueryError("sort", f"{ds.name} can be sorted by {', '.join(sorted(ds.sorts))} (prefix - for descending)")
    return key, ds.sorts[key], sort.startswith("-")


def list_rows(
    conn: Connection,
    dataset: str,
    filters: Filters | None = None,
    *,
    sort: str = "id",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    count: bool = True,
    reveal: bool = False,
    lang: str = "zh",
) -> Page:
    """One page of a dataset, filtered, in a stable order (``sort`` then id), with the total count.

    Natural persons' names are hidden (``ledger.read.privacy``) unless ``reveal`` (a restricted reader)."""
    ds = DATASETS[dataset]
    redact = privacy.for_reader(conn, reveal=reveal, lang=lang)
    filters = redact.filters(dataset, filters or Filters())
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"must be between 1 and {MAX_LIMIT}")
    key, sort_expr, desc = _parse_sort(ds, sort)
    for name in sorted(filters.given()):
        if name not in ds.filters:
            raise QueryError(name, f"{ds.name} cannot be filtered by {name}")
    filters = year_scope.narrow(conn, ds, filters)  # PostgreSQL: only the year partitions holding a match
    value = last_id = None
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        try:
            if key == "date":
                value = dt.date.fromisoformat(value)
            elif key != "id" and key != "code":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError
                bounded("cursor", value)
            elif key == "code" and not isinstance(value, str):
                raise ValueError
        except (TypeError, ValueError):
            raise QueryError("cursor", "not a cursor this API issued; start again without it") from None
    n_cols = len(ds.columns)
    total = exact = None
    if count:
        total, exact = queries_counts.page_total(conn, ds, filters)
    if ds.name in _PLANNED:
        # Built once per shape, run on the driver's cursor (ledger.read.published.pages).
        values: dict[str, Any] = {f"f_{n}": getattr(filters, n) for n in filters.given()}
        values["c_limit"] = limit + 1
        if cursor:
            values["c_id"] = last_id
            if key != "id":
                values["c_value"] = value
        sparse = _sparse(conn, filters, key, total, exact)
        page_plan = queries_pages.plan(conn, ds, filters, key, sort_expr, desc, bool(cursor), sparse=sparse)
        fetched = page_plan.run(conn, values)
    else:
        fetched = _fetch(conn, ds, filters, key, sort_expr, desc, cursor, value, last_id, limit)
    more = len(fetched) > limit
    fetched = fetched[:limit]
    build = _row_builder(ds)
    rows = redact.rows(ds.name, [build(r) for r in fetched])  # a trailing sort value, if any, is not read
    next_cursor = None
    if more and fetched:
        last = fetched[-1]
        sort_value = last[n_cols] if key != "id" else rows[-1]["id"]
        next_cursor = encode_cursor(sort, sort_value, rows[-1]["id"])
    return Page(rows=rows, next_cursor=next_cursor, total=total, limit=limit, sort=sort, total_exact=exact)


_PLANNED = {"expenses", "budgets", "procurement", "units", "import-batches"}
# Range filters: no index holds their matches in id order, so SQLite (no histograms) walks the table by id
# and filters, which reads all of it when few rows match (5M entries, ``?amount_min=`` of the top 51: 0.5 CPU-s).
_RANGES = {"amount_min", "amount_max", "date_from", "date_to", "year_from", "year_to"}
# Up to here sorting the matches beats the walk (5M entries: 500 matches 6 against 100 CPU-ms, 2,000: 49 against 30).
SPARSE_MAX = 1_000


def _sparse(conn: Connection, filters: Filters, key: str, total: int | None, exact: bool | None) -> bool:
    """An id-ordered SQLite page whose range filter the count found few matches for (``SPARSE_MAX``): it is
    searched through the filter's index and its matches sorted (``pages``: ``ORDER BY id + 0``)."""
    return (conn.dialect.name == "sqlite" and key == "id" and bool(exact) and total is not None
            and total <= SPARSE_MAX and bool(filters.given() & _RANGES))


def _fetch(conn: Connection, ds: Dataset, filters: Filters, key: str, sort_expr, desc: bool, cursor: str | None,
           value: Any, last_id: Any, limit: int) -> list:
    """One page through SQLAlchemy, for datasets whose filters are not all plain comparisons."""
    return conn.execute(page_statement(ds, filters, key, sort_expr, desc, cursor, value, last_id, limit)).all()


def page_statement(ds: Dataset, filters: Filters, key: str, sort_expr, desc: bool, cursor: str | None,
                   value: Any, last_id: Any, limit: int):
    """The SELECT of ``_fetch``'s page (its plan tests read it)."""
    page_conds = _where(ds, filters)
    if cursor:
        if key == "id":
            page_conds.append(ds.id_expr < last_id if desc else ds.id_expr > last_id)
        else:
            v = literal(value, Date) if key == "date" else value
            after = (sort_expr < v) if desc else (sort_expr > v)
            page_conds.append(or_(after, and_(sort_expr == v, (ds.id_expr < last_id) if desc else (ds.id_expr > last_id))))
    bound = ds.page_bound(ds, filters, desc) if ds.page_bound is not None and key == "id" else None
    if bound is not None:
        page_conds.append(bound)
    order = [sort_expr.desc(), ds.id_expr.desc()] if desc else [sort_expr, ds.id_expr]
    if key == "id":
        order = order[:1]
    extra = [] if key == "id" else [sort_expr]
    return (select(*[c.expr for c in ds.columns], *extra).select_from(ds.base()).where(*page_conds)
            .order_by(*order).limit(limit + 1))


def get_row(conn: Connection, dataset: str, row_id: int, *, reveal: bool = False, lang: str = "zh") -> dict[str, Any]:
    """One row of a dataset by id (superseded rows included: provenance links must keep working);
    natural persons' names hidden unless ``reveal``. Under ``pinned``: only rows in the log at the checkpoint."""
    ds = DATASETS[dataset]
    if isinstance(row_id, int) and not -INT64_MAX <= row_id <= INT64_MAX:
        raise NotFound(f"no {dataset} row with id {row_id}")
    conds = [ds.id_expr == row_id]
    if current_pin() is not None:  # as of a checkpoint: a row published after it does not exist yet
        batch = next((c.expr for c in ds.columns if c.name == "batch_id"), None)
        conds += [logged(batch)] if batch is not None else [ds.always()] if ds.always is not None else []
    got = conn.execute(select(*[c.expr for c in ds.columns]).select_from(ds.base()).where(*conds)).first()
    if got is None:
        raise NotFound(f"no {dataset} row with id {row_id}")
    return privacy.for_reader(conn, reveal=reveal, lang=lang).row(ds.name, _row(ds, got))


def iter_rows(engine: Engine, dataset: str, filters: Filters | None = None, *, reveal: bool = False,
              lang: str = "zh") -> Iterator[list[tuple]]:
    """Every live row of a dataset in id order, in chunks of tuples, streamed from the database.

    Tuples follow ``DATASETS[dataset].output_fields()``. The connection stays open while the
    caller iterates, so one snapshot serves the whole download. Natural persons' names are hidden
    unless ``reveal``.
    """
    ds = DATASETS[dataset]
    fields = [n for n, _, _ in ds.output_fields()]
    money = [c.money for c in ds.columns]
    with engine.connect() as conn, conn.begin():
        redact = privacy.for_reader(conn, reveal=reveal, lang=lang)
        conds = _where(ds, redact.filters(dataset, filters or Filters()))
        stmt = select(*[c.expr for c in ds.columns]).select_from(ds.base()).where(*conds).order_by(ds.id_expr)
        result = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK_ROWS).execute(stmt)
        for chunk in result.partitions(STREAM_CHUNK_ROWS):
            out = []
            for r in chunk:
                row: list[Any] = []
                for value, m in zip(r, money, strict=True):
                    row.append(value)
                    if m:
                        row.append(yuan(value))
                out.append(tuple(row))
            yield redact.tuples(ds.name, fields, out)


def categories(conn: Connection) -> list[dict[str, Any]]:
    """Expense categories with the groups each belongs to (三公, 四费, …) and their ``parent`` in the
    published tree (``three_public`` 合计 ⊃ ``vehicles`` ⊃ …), in display order."""
    groups: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        groups.setdefault(c, []).append(g)
    rows = conn.execute(
        select(Category.code, Category.name_zh, Category.name_en, Category.sort_order, Category.parent_code).order_by(
            Category.sort_order, Category.code
        )
    ).all()
    return [
        {"code": code, "name_zh": zh, "name_en": en, "groups": sorted(groups.get(code, [])), "parent": parent}
        for code, zh, en, _, parent in rows
    ]


def category_groups(conn: Connection) -> list[dict[str, Any]]:
    """Category groups with their member categories."""
    members: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        members.setdefault(g, []).append(c)
    rows = conn.execute(select(CategoryGroup.code, CategoryGroup.name_zh, CategoryGroup.name_en).order_by(CategoryGroup.code))
    return [{"code": c, "name_zh": zh, "name_en": en, "categories": sorted(members.get(c, []))} for c, zh, en in rows]


def data_version(conn: Connection) -> tuple[str, dt.datetime | None]:
    """A token that changes whenever anything public changes, and the time of the last change.

    Used for ETags and Last-Modified: published rows are append-only, so the newest batch, audit
    entry, check run and review identify the state of everything the public can read.
    """
    ids = conn.execute(
        select(
            select(func.max(ImportBatch.id)).scalar_subquery(),
            select(func.max(AuditLog.id)).scalar_subquery(),
            select(func.max(CheckRun.id)).scalar_subquery(),
            select(func.max(FlagReview.id)).scalar_subquery(),
            select(func.max(Unit.id)).scalar_subquery(),
            select(func.max(ImportBatch.created_at)).scalar_subquery(),
            select(func.max(AuditLog.created_at)).scalar_subquery(),
        )
    ).one()
    stamps = [t for t in ids[5:] if t is not None]
    last = max((t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in stamps), default=None)
    return "-".join("0" if i is None else str(i) for i in ids[:5]), last

