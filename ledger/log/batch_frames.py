"""A batch's derived figures computed from the rows as written (polars frames), not read back.

The import pipeline feeds every frame it inserts (with its ids) to ``BatchFrames.add``; at publish
``ledger.log.events.batch_published`` writes from it what it would otherwise compute with a GROUP BY
over the batch's stored rows: the rollups, the reception head-count rollup and the transparency
log's canonical lines (``ledger.log.canonical``) and the search index's counts and sums per text
(``search_sums``). The texts are kept as codes into a vocabulary of the batch's distinct texts (30,008
for 1M rows), so the partial sums hold integers only; texts of about a group a row (payees) are given up
at the first fold (``SPREAD``; docs/benchmarks.md, "Peak RSS at 5M: integer keys and the search vocabulary"). Each equals its read-back exactly (``tests/importers/test_import_frames.py`` holds them to each
other on both stores; ``tests/api/search/test_search_same_answers.py`` the search answers).

Only what the frames hold is kept, aggregated per part: rollups as partial sums,
canonical lines as their SHA-256 and CRC-32 locator (``RowsSummary``; given the connection, the
locator is stored part by part in ``log_row_digest`` and not kept), so memory grows with the
number of groups, not of rows; a figure whose groups pass ``MAX_GROUPS`` is left to the store's
GROUP BY (``None`` from its method), so memory stays bounded on any file. Tables the frames do not cover (rows an ``after_write`` hook adds)
are read back from the store by the caller.
"""

from __future__ import annotations

import re

import polars as pl
from sqlalchemy import Connection, insert

from ledger.log.canonical import FETCH_ROWS, ROW_COLUMNS, RowsSummary, row_line
from ledger.store.derived import batch_names
from ledger.store.models import LogRowDigest

FRAMED = ("expense_entry", "budget_line", "procurement_record")  # tables the pipeline writes from frames
ROLLUP_KEY = ["unit_id", "fiscal_year", "category_code", "currency"]
MAX_GROUPS = 2_000_000  # partial-sum rows kept per figure before falling back to the store (see _keep)
# (kind, column, amount) of each table's searchable texts (``ledger.store.derived.search_index.text_selects``)
SEARCH_TEXTS = {"expense_entry": [("payee", "payee", "amount_fen"), ("description", "description", "amount_fen")],
                "procurement_record": [("supplier", "supplier_name", "contract_fen"), ("title", "title", "contract_fen")]}
SEARCH_KINDS = ["payee", "description", "supplier", "title"]
SEARCH_KEY = ["kind", "unit_id", "fiscal_year", "code", "currency"]
FOLD_ROWS = 200_000  # partial-sum rows kept at least before they are folded into one frame
SPREAD = 0.5  # groups per row fed past which a folded figure is given up (see _keep)
_ESCAPED = re.compile(r'["\\\x00-\x1f]').pattern  # cells JSON escapes: those lines are built the reference way


class BatchFrames:
    """Accumulates, part by part, what a batch's publish derives from its rows."""

    def __init__(self, batch_id: int, conn: Connection | None = None) -> None:
        self.batch_id = batch_id
        self.conn = conn  # given: each part's row locator is stored as it comes (``log_row_digest``)
        self.rows = RowsSummary()
        self._tables_seen: list[str] = []
        self._rollups: list[pl.DataFrame] | None = []
        self._persons: list[pl.DataFrame] | None = []
        self._search: list[pl.DataFrame] | None = []
        self._names: list[pl.DataFrame] | None = []
        self._vocabulary = pl.DataFrame(schema={"body": pl.String, "code": pl.UInt32})
        # the search partials' currency as a code (4 bytes a row, not a 16-byte string view): categories of its own
        self._currency = pl.Categorical(pl.Categories.random())
        self._fed = {"rollups": 0, "search": 0, "names": 0}  # rows (texts) fed to each figure, for _keep's give-up

    def add(self, table: str, frame: pl.DataFrame) -> None:
        """A part as inserted into ``table``: every stored column, ids included, in id order.

        Parts must come table by table in ``ROW_COLUMNS`` order (the canonical order of a batch).
        """
        if table not in FRAMED:
            raise ValueError(f"{table} is not written from frames")
        if self._tables_seen and self._tables_seen[-1] != table:
            order = list(ROW_COLUMNS)
            if table in self._tables_seen or order.index(table) < order.index(self._tables_seen[-1]):
                raise ValueError(f"{table} rows arrive out of canonical order")
        if not self._tables_seen or self._tables_seen[-1] != table:
            self._tables_seen.append(table)
        for start in range(0, frame.height, FETCH_ROWS):
            part = frame.slice(start, FETCH_ROWS)
            self.rows.add_chunk(table, part.get_column("id").to_list(), canonical_lines(table, part))
        if self.conn is not None and (drained := self.rows.drain()):
            self.conn.execute(insert(LogRowDigest), [
                dict(batch_id=self.batch_id, table_name=t, chunk_no=n, row_count=c, digests=b) for t, n, c, b in drained])
        if table in ("expense_entry", "budget_line"):
            self._fed["rollups"] += frame.height
        if table == "expense_entry":
            self._rollups = _keep(self._rollups, _sums(frame.with_columns(pl.lit("actual").alias("measure")),
                                                        ["measure", *ROLLUP_KEY]), _reduce_rollups, self._fed["rollups"])
            reception = frame.filter((pl.col("category_code") == "reception") & (pl.col("persons") > 0)
                                     & (pl.col("currency") == "CNY"))
            if reception.height:
                self._persons = _keep(self._persons, reception.group_by("unit_id", "fiscal_year").agg(
                    pl.col("amount_fen").sum(), pl.col("persons").cast(pl.Int64).sum(),
                    pl.len().cast(pl.Int64).alias("row_count")), _reduce_persons)
        elif table == "budget_line":
            self._rollups = _keep(self._rollups, _sums(frame.with_columns(
                (pl.lit("budget_") + pl.col("stage")).alias("measure")), ["measure", *ROLLUP_KEY]), _reduce_rollups,
                self._fed["rollups"])
        if table in SEARCH_TEXTS and self._search is not None:
            self._add_texts(table, frame)
        if self._names is not None and (names := batch_names.frame_names(table, frame)) is not None:
            self._fed["names"] += frame.height
            self._names = _keep(self._names, names, batch_names.reduce, self._fed["names"])

    def _add_texts(self, table: str, frame: pl.DataFrame) -> None:
        texts = pl.concat([frame.select(pl.lit(SEARCH_KINDS.index(kind), pl.UInt8).alias("kind"), "unit_id",
                                        pl.col("fiscal_year").cast(pl.Int32), pl.col(col).cast(pl.String).alias("body"),
                                        pl.col(amount).cast(pl.Int64).alias("amount_fen"),
                                        pl.col("currency").cast(pl.String).cast(self._currency))
                           .filter(pl.col("body").is_not_null() & (pl.col("body") != ""))
                           for kind, col, amount in SEARCH_TEXTS[table]])
        new = texts.select(pl.col("body").unique(maintain_order=True)).join(self._vocabulary, on="body", how="anti")
        if new.height:
            first = self._vocabulary.height
            self._vocabulary = pl.concat([self._vocabulary, new.with_columns(
                pl.int_range(first, first + new.height, dtype=pl.UInt32).alias("code"))])
        if self._vocabulary.height > MAX_GROUPS:  # too many distinct texts: the store's GROUP BYs count them
            self._search, self._vocabulary = None, self._vocabulary.clear()
            return
        coded = texts.join(self._vocabulary, on="body", how="left").drop("body")
        self._fed["search"] += texts.height
        self._search = _keep(self._search, coded.group_by(SEARCH_KEY).agg(
            pl.len().cast(pl.UInt32).alias("row_count"), pl.col("amount_fen").sum(),
            pl.col("amount_fen").count().cast(pl.UInt32).alias("amounts")), _reduce_search, self._fed["search"])
        if self._search is None:
            self._vocabulary = self._vocabulary.clear()

    def search_sums(self) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """The batch's texts per kind, unit, year and currency with their row count and amount, as
        ``ledger.store.derived.search_index.text_selects`` groups them, each text as a ``code`` into the
        second frame (``body``, ``code``: the batch's distinct texts). None: past the cap."""
        if self._search is None:
            return None
        if not self._search:
            return pl.DataFrame(), self._vocabulary
        out = _reduce_search(pl.concat(self._search))
        self._search = []
        return out.select(pl.col("kind").replace_strict(list(range(len(SEARCH_KINDS))), SEARCH_KINDS,
                                                        return_dtype=pl.String), "unit_id", "fiscal_year", "code",
                          pl.col("row_count").cast(pl.Int64),
                          pl.when(pl.col("amounts") > 0).then(pl.col("amount_fen")).alias("amount_fen"),
                          pl.col("currency").cast(pl.String)), self._vocabulary

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self._tables_seen)

    def rollups(self) -> pl.DataFrame | None:
        """Rows of ``rollup`` for the batch, as ``refresh_rollups`` would insert them (None: past the cap)."""
        if not self._rollups:
            return None if self._rollups is None else pl.DataFrame()
        out = _reduce_rollups(pl.concat(self._rollups))
        return out.sort("measure", *ROLLUP_KEY).select(pl.lit(self.batch_id, pl.Int64).alias("batch_id"), pl.all())

    def names(self) -> pl.DataFrame | None:
        """Rows of ``batch_name`` for the batch but ``batch_id`` (``ledger.store.derived.batch_names``; None: past
        the cap, e.g. a name a row)."""
        if not self._names:
            return None if self._names is None else pl.DataFrame()
        return batch_names.reduce(pl.concat(self._names))

    def reception_persons(self) -> pl.DataFrame | None:
        """Rows of ``reception_persons_rollup`` for the batch (None: past the cap)."""
        if not self._persons:
            return None if self._persons is None else pl.DataFrame()
        out = _reduce_persons(pl.concat(self._persons))
        return out.sort("unit_id", "fiscal_year").select(
            pl.lit(self.batch_id, pl.Int64).alias("batch_id"), "unit_id", "fiscal_year", "amount_fen", "persons",
            "row_count")


def _reduce_rollups(partials: pl.DataFrame) -> pl.DataFrame:
    return partials.group_by("measure", *ROLLUP_KEY).agg(pl.col("amount_fen").sum(), pl.col("row_count").sum())


def _reduce_search(partials: pl.DataFrame) -> pl.DataFrame:
    return partials.group_by(SEARCH_KEY).agg(pl.col("row_count").sum(), pl.col("amount_fen").sum(),
                                             pl.col("amounts").sum())


def _reduce_persons(partials: pl.DataFrame) -> pl.DataFrame:
    return partials.group_by("unit_id", "fiscal_year").agg(pl.all().sum())


def _keep(partials: list[pl.DataFrame] | None, part: pl.DataFrame, reduce, fed: int = 0) -> list[pl.DataFrame] | None:
    """Add a part's partial sums, folding them as they come; past half of ``MAX_GROUPS`` groups, give up (None).

    The partials are reduced to one frame whenever they hold more than twice what the last reduction
    left (and at least ``FOLD_ROWS``): each part names most units again, so unfolded partials grow
    with the rows (millions at 5M), folded ones with the groups. Giving up sends that figure back to
    the store's GROUP BY, which spills to disk: memory stays bounded however large the file (a
    50M-row file can hold tens of millions of distinct payees). ``fed``: the rows fed so far; a fold that
    leaves more than ``SPREAD`` groups a row (payees at 1M rows: 999,313 groups; budgets, a figure a row)
    gives up at once: such partials are as large as the rows and would pass the cap later anyway.
    """
    if partials is None:
        return None
    partials.append(part)
    held = sum(p.height for p in partials)
    if len(partials) < 2 or held <= max(FOLD_ROWS, 2 * partials[0].height):
        out = partials if held <= MAX_GROUPS else _fold(partials, reduce)
    else:
        out = _fold(partials, reduce)
    if out is not None and len(out) == 1 and fed >= FOLD_ROWS and out[0].height > SPREAD * fed:
        return None
    return out


def _fold(partials: list[pl.DataFrame], reduce) -> list[pl.DataFrame] | None:
    reduced = reduce(pl.concat(partials))
    return [reduced] if reduced.height <= MAX_GROUPS // 2 else None


def _sums(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return frame.group_by(key).agg(pl.col("amount_fen").sum(), pl.len().cast(pl.Int64).alias("row_count"))


def canonical_lines(table: str, frame: pl.DataFrame) -> list[bytes]:
    """The canonical lines (``ledger.log.canonical.row_line``) of a frame's rows, as UTF-8 bytes.

    Built in polars; a row with a text cell JSON would escape (quote, backslash, control character)
    is built by ``row_line`` itself, so every line is the reference's bytes.
    """
    cols = ROW_COLUMNS[table][1]
    pieces, texts = [], []
    for c in cols:
        dtype = frame.schema[c]
        if dtype == pl.Date:
            v = pl.col(c).dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            v = pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%6f") if dtype.time_zone \
                else pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S.%6f")
        elif dtype.is_integer():
            v = pl.col(c).cast(pl.String)
        elif dtype == pl.String:
            v = pl.col(c)
            texts.append(c)
        else:
            raise TypeError(f"{table}.{c}: no canonical form from {dtype}")
        pieces.append(pl.when(pl.col(c).is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + v + pl.lit('"')))
    line = pl.concat_str([pl.lit(f'["{table}"')] + [pl.lit(",") + p for p in pieces] + [pl.lit("]")])
    lines = frame.select(line.cast(pl.Binary)).to_series().to_list()
    if texts:
        odd = frame.select(pl.any_horizontal([pl.col(c).str.contains(_ESCAPED).fill_null(False) for c in texts]))
        for i in odd.to_series().arg_true().to_list():
            lines[i] = row_line(table, [frame[c][i] for c in cols]).encode()
    return lines
