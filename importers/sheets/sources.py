"""Open a CSV, TSV, XLSX, JSON or JSON Lines file as sheets of string cells.

Everything is read as text first (numbers are parsed later by ``ledger.money`` and friends, so a
non-strict cast can never turn ``1,234.50`` into a silent null). Each sheet knows the spreadsheet row
of its header, so every data row carries ``__row``: the row number the clerk sees in Excel.
Big CSVs come back in chunks, never whole.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importers.sheets import encoding as enc
from importers.sheets.safety import DAMAGED_ZIP, Limits, Refused, check_json_text, check_size, check_xlsx
from ledger.amount_units import amount_unit_or_none

ROW = "__row"
# What one step of a big CSV holds: a block of the file, parsed, then normalised in chunks. Peak RSS
# follows the block (read_csv's buffers, the text, the frame: about ten times the block), not the
# file: reading the 1M-row file peaked at 402 MB with 32 MB blocks, 226 MB with 8 MB (about 65,000
# rows of 125 bytes; docs/benchmarks.md, "Imports: peak RSS, streamed").
CHUNK_ROWS = 65_536
BLOCK_BYTES = 8 << 20
HEADER_SCAN_ROWS = 30
_TITLE_UNIT = re.compile(r"(?:单位|金额单位)\s*[:：]\s*(万元|亿元|元)")
_TITLE_UNIT_EN = re.compile(r"^\s*(?:amount\s+)?units?\s*:\s*(.+?)\s*$", re.IGNORECASE)  # Unit: 10,000 yuan
TEMPLATE_SHEETS = ("示例（不导入）", "填写说明")  # sheets of our XLSX templates (importers.templates) that hold no data
UNIT_WORDS = {"元": "yuan", "万元": "wan", "亿元": "yi"}


@dataclass
class Sheet:
    name: str | None
    header_row: int  # 1-based, as seen in a spreadsheet
    headers: list[str]
    unit_hint: str | None  # from a title row such as 单位：万元
    chunks: Callable[[], Iterator[pl.DataFrame]]  # string columns named by ``headers`` plus ROW


@dataclass
class Opened:
    encoding: str | None
    sheets: list[Sheet]
    skipped: list[tuple[str, str]]  # (sheet, why)
    evidence: enc.Detected | None = None  # text files: why this encoding, how sure


def find_header(rows: list[list[str | None]], is_header: Callable[[list[str]], bool]) -> int | None:
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if is_header([c for c in row if c]):
            return i
    return None


def header_block(rows: list[list], idx: int, known: Callable[[str], bool] | None) -> tuple[list, int]:
    """The header at ``idx``, or a two-row header (merged cells such as 预算数 over 合计, 因公出国(境)费…)
    combined into ``预算数_合计`` names when at least two combined names are ones we know."""
    top = list(rows[idx])
    if known is None or idx + 1 >= len(rows):
        return top, 1
    bottom = list(rows[idx + 1]) + [None] * max(0, len(top) - len(rows[idx + 1]))
    combined, group, hits = [], None, 0
    for t, b in zip(top, bottom, strict=False):
        if t not in (None, ""):
            group = t
        if b in (None, ""):
            combined.append(t)
            continue
        name = f"{group}_{b}" if group else b
        hits += bool(known(name))
        combined.append(name)
    return (combined, 2) if hits >= 2 else (top, 1)


def unit_hint(rows: list[list[str | None]]) -> str | None:
    for row in rows:
        for cell in row:
            if cell and (m := _TITLE_UNIT.search(unicodedata.normalize("NFKC", cell))):
                return UNIT_WORDS[m.group(1)]
            if cell and (m := _TITLE_UNIT_EN.match(cell)) and (unit := amount_unit_or_none(m.group(1))):
                return unit
    return None


def dedupe(headers: list[str | None]) -> list[str]:
    out, seen = [], {}
    for i, h in enumerate(headers):
        h = (h or "").strip() or f"column_{i + 1}"
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h}#{n + 1}")
    return out


def open_file(path: Path, is_header, *, encoding: str | None, sheet: str | None, limits: Limits,
              workdir: Path) -> Opened:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, is_header, sheet, limits)
    if suffix == ".json":
        return _open_json(path, limits, lines=False)
    if suffix == ".jsonl":
        return _open_json(path, limits, lines=True)
    if suffix in (".csv", ".tsv", ".txt"):
        return _open_csv(path, is_header, encoding, limits, workdir, "\t" if suffix == ".tsv" else None)
    raise Refused("file-unreadable", f"unsupported file type {suffix or '(none)'}: use .csv .tsv .xlsx .json .jsonl")


def _open_csv(path, is_header, encoding, limits, workdir, separator) -> Opened:
    check_size(path, limits.max_text_bytes)
    detected = enc.Detected(enc.normalise_name(encoding), "given with --encoding") if encoding else enc.detect(path)
    name = detected.encoding
    if encoding and not enc.decodes(path, name):
        raise Refused("encoding-unknown", f" (the file is not valid {name}; try without --encoding)")
    text_path = enc.utf8_path(path, name, workdir)
    with text_path.open("r", encoding="utf-8-sig", newline="") as f:
        head = "".join(line for _, line in zip(range(HEADER_SCAN_ROWS + 1), f, strict=False))
    if not head.strip():
        raise Refused("file-empty")
    if separator is None:
        first = head.splitlines()[0]
        separator = max([",", ";", "\t"], key=first.count)
    try:
        rows = list(csv.reader(io.StringIO(head), delimiter=separator))
    except csv.Error as e:  # a bare CR inside a field, a cell beyond the csv module's size limit
        raise Refused("file-unreadable", f"the first rows are not valid CSV ({e})") from None
    idx = find_header(rows, is_header)
    if idx is None:
        idx = 0  # report against the first row; the column check names what is missing
    top, depth = header_block(rows, idx, getattr(is_header, "known", None)) if rows else ([], 1)
    headers = dedupe(top)
    header_row = idx + depth

    def chunks() -> Iterator[pl.DataFrame]:
        next_row = header_row + 1
        # Each block gets a header line of its own, so polars takes the field count from the header,
        # not from a block's first line (which may be blank or short).
        names = [f"c{i}" for i in range(len(headers))]
        head_line = separator.join(names).encode() + b"\n"
        for block in _record_blocks(text_path, _offset_after_records(text_path, header_row)):
            try:
                frame = pl.read_csv(
                    head_line + block, has_header=True, schema={n: pl.String for n in names},
                    separator=separator, infer_schema=False, truncate_ragged_lines=False, raise_if_empty=False,
                    empty_string_is_null=True,
                ).rename(dict(zip(names, headers, strict=True)))
            except pl.exceptions.PolarsError as e:
                raise Refused("file-unreadable", f"after row {next_row - 1}: {str(e).splitlines()[0][:200]}") from None
            frame = frame.with_row_index(ROW, offset=next_row).with_columns(pl.col(ROW).cast(pl.Int64))
            next_row += frame.height
            for start in range(0, frame.height, CHUNK_ROWS):
                yield frame.slice(start, CHUNK_ROWS)

    return Opened(name, [Sheet(None, header_row, headers, unit_hint(rows[:idx]), chunks)], [], detected)


def _offset_after_records(path: Path, records: int) -> int:
    """Byte offset just after the first ``records`` CSV records (newlines inside quotes do not count)."""
    with path.open("rb") as f:
        head = f.read(4 << 20)
    pos, quotes, seen = 0, 0, 0
    while seen < records:
        nl = head.find(b"\n", pos)
        if nl < 0:
            return len(head)
        quotes += head.count(b'"', pos, nl)
        pos = nl + 1
        seen += quotes % 2 == 0
    return pos


def _record_blocks(path: Path, start: int) -> Iterator[bytes]:
    """The file from ``start`` in blocks of about ``BLOCK_BYTES`` that end on a record boundary.

    We cut the file ourselves rather than let polars stream it: memory stays at a block or two
    whatever the file size. A newline ends a record when the quotes before it pair up (RFC 4180's
    doubled ``""`` keeps the count even), so quoted newlines never split a record.
    """
    with path.open("rb") as f:
        f.seek(start)
        carry = b""
        while data := f.read(BLOCK_BYTES):
            buf = carry + data
            cut = _record_cut(buf)
            if cut is None:
                carry = buf
                continue
            yield buf[:cut]
            carry = buf[cut:]
        if carry:
            yield carry


def _record_cut(buf: bytes, tries: int = 64) -> int | None:
    total = buf.count(b'"')
    end = len(buf)
    for _ in range(tries):
        nl = buf.rfind(b"\n", 0, end)
        if nl < 0:
            return None
        if (total - buf.count(b'"', nl)) % 2 == 0:
            return nl + 1
        end = nl
    return None


def _first_rows(path: Path) -> dict[str, int]:
    """Spreadsheet row of each sheet's first non-empty cell (calamine drops leading empty rows)."""
    out: dict[str, int] = {}
    with zipfile.ZipFile(path) as zf:
        try:
            wb = zf.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        except KeyError:
            return out
        targets = dict(re.findall(r'<Relationship[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
        targets |= {a: b for b, a in re.findall(r'<Relationship[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)}
        for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", wb):
            name = re.search(r'\bname="([^"]*)"', tag)
            rid = re.search(r'\br:id="([^"]*)"', tag) or re.search(r'\bid="([^"]*)"', tag)
            if not (name and rid and rid.group(1) in targets):
                continue
            target = targets[rid.group(1)].lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            try:
                with zf.open(member) as f:
                    xml = f.read(4 << 20).decode("utf-8", "replace")
            except KeyError:
                continue
            m = re.search(r'<c\b[^>]*?\br="[A-Z]+(\d+)"[^>]*?>\s*<(?:v|is|f)\b', xml)
            out[html.unescape(name.group(1))] = int(m.group(1)) if m else 1
    return out


def _excel_text(col: pl.Expr) -> pl.Expr:
    """A cell as Excel shows it: numbers carry 15 significant digits, so a formula's binary tail
    (``=0.1+0.2`` stored as 0.30000000000000004) reads as 0.3, not as an amount with 17 decimals."""
    s = col.str.strip_chars().replace("", None)
    tail = s.str.contains(r"^-?[0-9]+\.[0-9]*[0-9]{12,}$")
    return pl.when(tail).then(s.cast(pl.Float64, strict=False).round_sig_figs(15).cast(pl.String)).otherwise(s)


def _open_xlsx(path, is_header, sheet, limits) -> Opened:
    import fastexcel

    check_xlsx(path, limits)
    try:
        reader = fastexcel.read_excel(path)
    except Exception as e:  # calamine's errors are not one class
        raise Refused("file-unreadable", f"not a readable XLSX workbook ({str(e).splitlines()[0][:200]})") from None
    names = reader.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise Refused("sheet-not-found", ", ".join(names), value=sheet)
        names = [sheet]
    try:
        first = _first_rows(path)
    except DAMAGED_ZIP as e:
        raise Refused("file-unreadable", f"the workbook is damaged ({type(e).__name__})") from None
    sheets, skipped = [], []
    for name in names:
        if sheet is None and name in TEMPLATE_SHEETS:
            skipped.append((name, "template-sheet"))
            continue
        try:
            frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
        except Exception as e:  # calamine's errors are not one class
            raise Refused("file-unreadable", f"sheet {name}: {str(e).splitlines()[0][:200]}") from None
        if frame.height == 0:
            skipped.append((name, "empty-sheet"))
            continue
        rows = frame.head(HEADER_SCAN_ROWS).rows()
        idx = find_header(rows, is_header)
        if idx is None:
            skipped.append((name, "no-header-row"))
            continue
        top, depth = header_block(rows, idx, getattr(is_header, "known", None))
        headers = dedupe(top)
        offset = first.get(name, 1)
        body = frame.slice(idx + depth).rename(dict(zip(frame.columns, headers, strict=True)))
        body = body.with_row_index(ROW, offset=offset + idx + depth).with_columns(pl.col(ROW).cast(pl.Int64))
        body = body.with_columns([_excel_text(pl.col(h)) for h in headers])
        sheets.append(Sheet(name, offset + idx + depth - 1, headers, unit_hint(rows[:idx]), lambda b=body: iter([b])))
    return Opened(None, sheets, skipped)


def _open_json(path: Path, limits: Limits, lines: bool) -> Opened:
    if lines:
        check_size(path, limits.max_json_bytes)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise Refused("encoding-unknown", f" (JSON Lines must be UTF-8: byte {e.start})") from None
        records = [check_json_text(line, limits) for line in text.splitlines() if line.strip()]
    else:
        from importers.sheets.safety import load_json

        data = load_json(path, limits)
        records = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Refused("json-not-rows")
    if any(isinstance(v, dict | list) for r in records for v in r.values()):
        raise Refused("json-not-rows")
    if not records:
        raise Refused("file-empty")
    headers = dedupe(list(dict.fromkeys(k for r in records for k in r)))
    columns = {h: [None if r.get(h) is None else str(r.get(h)) for r in records] for h in headers}
    frame = pl.DataFrame(columns, schema={h: pl.String for h in headers})
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return Opened("utf-8", [Sheet(None, 0, headers, None, lambda: iter([frame]))], [])
