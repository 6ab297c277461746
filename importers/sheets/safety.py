"""Refusing hostile files before anything parses them: size caps, zip bombs, XML entities, bad JSON.

Every check raises ``Refused(code, detail)``; the importer turns it into a report. Limits are
settings (environment variables ``SUNSHINE_IMPORT_MAX_*``), never constants buried in parsers.
The OCDS importer can use ``load_json`` for whole-file JSON and ``check_json_text`` per line.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path


class Refused(Exception):
    """The file cannot be imported at all; ``code`` is a problem code from ``importers.problems``."""

    def __init__(self, code: str, detail: str = "", value: str | None = None):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.value = code, detail, value


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Limits:
    max_text_bytes: int = 8 * 2**30  # CSV / TSV / JSON Lines (streamed)
    max_json_bytes: int = 256 * 2**20  # whole-document JSON
    max_xlsx_bytes: int = 200 * 2**20  # compressed
    max_xlsx_uncompressed: int = 2 * 2**30
    max_xlsx_ratio: int = 200  # uncompressed / compressed, per member
    max_xlsx_members: int = 10_000
    max_rows: int = 20_000_000
    max_json_depth: int = 64

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(
            max_text_bytes=_env_int("SUNSHINE_IMPORT_MAX_TEXT_BYTES", d.max_text_bytes),
            max_json_bytes=_env_int("SUNSHINE_IMPORT_MAX_JSON_BYTES", d.max_json_bytes),
            max_xlsx_bytes=_env_int("SUNSHINE_IMPORT_MAX_XLSX_BYTES", d.max_xlsx_bytes),
            max_xlsx_uncompressed=_env_int("SUNSHINE_IMPORT_MAX_XLSX_UNCOMPRESSED", d.max_xlsx_uncompressed),
            max_xlsx_ratio=_env_int("SUNSHINE_IMPORT_MAX_XLSX_RATIO", d.max_xlsx_ratio),
            max_rows=_env_int("SUNSHINE_IMPORT_MAX_ROWS", d.max_rows),
            max_json_depth=_env_int("SUNSHINE_IMPORT_MAX_JSON_DEPTH", d.max_json_depth),
        )


def check_size(path: Path, limit: int) -> int:
    size = path.stat().st_size
    if size == 0:
        raise Refused("file-empty")
    if size > limit:
        raise Refused("file-too-large", f"{size:,} bytes, the limit is {limit:,}")
    return size


_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def check_xlsx(path: Path, limits: Limits) -> None:
    """Refuse a zip bomb or XML with a DTD before the spreadsheet parser sees the file.

    The declared sizes in the zip directory are checked first, then every XML member is inflated in
    bounded pieces (so a directory that lies about sizes is caught too) and scanned for ``<!DOCTYPE`` /
    ``<!ENTITY``: calamine does not expand entities, and we refuse them outright anyway.
    """
    check_size(path, limits.max_xlsx_bytes)
    if not zipfile.is_zipfile(path):
        raise Refused("file-unreadable", "not an XLSX workbook (it is not a zip archive)")
    try:
        _check_members(path, limits)
    except DAMAGED_ZIP as e:
        raise Refused("file-unreadable", f"the workbook is damaged ({type(e).__name__}: {e})") from None


# What zipfile and zlib raise on a damaged archive (bad headers, CRC, truncated or corrupt streams).
DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


def _check_members(path: Path, limits: Limits) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_xlsx_members:
            raise Refused("zip-bomb", f"{len(infos):,} members in the archive")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_xlsx_uncompressed:
            raise Refused("zip-bomb", f"{declared:,} bytes uncompressed")
        for i in infos:
            if i.file_size > 1_000_000 and i.file_size > limits.max_xlsx_ratio * max(i.compress_size, 1):
                raise Refused("zip-bomb", f"{i.filename} expands {i.file_size // max(i.compress_size, 1)}×")
        total = 0
        for i in infos:
            if not i.filename.endswith((".xml", ".rels", ".vml")):
                continue
            tail = b""
            with zf.open(i) as member:
                while chunk := member.read(1 << 20):
                    total += len(chunk)
                    if total > limits.max_xlsx_uncompressed:
                        raise Refused("zip-bomb", "the archive inflates beyond its declared size")
                    if _DTD.search(tail + chunk):
                        raise Refused("xml-entity", i.filename)
                    tail = chunk[-16:]


def _no_duplicate_keys(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise Refused("json-duplicate-key", value=k)
        obj[k] = v
    return obj


def _depth_ok(text: str, limit: int) -> None:
    # Bracket depth outside strings, without recursing: a 100,000-deep array must not crash us.
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > limit:
                raise Refused("json-too-deep")
        elif tok in "]}":
            depth -= 1


def check_json_text(text: str, limits: Limits):
    """Parse one JSON text with depth and duplicate-key checks."""
    _depth_ok(text, limits.max_json_depth)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise Refused("json-invalid", f"line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise Refused("json-too-deep") from None


def load_json(path: Path, limits: Limits):
    """Load a whole JSON document (size-capped, UTF-8 or UTF-8 with BOM) with the same checks."""
    check_size(path, limits.max_json_bytes)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Refused("encoding-unknown", f" (JSON must be UTF-8: byte {e.start})") from None
    return check_json_text(text, limits)
