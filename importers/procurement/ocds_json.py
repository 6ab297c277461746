"""Reading OCDS JSON safely: layout sniffing from the first bytes, depth and duplicate-key refusal.

Publishers ship release packages, record packages, bare records, JSON arrays of packages and JSON
Lines of releases. The layout is decided from the first 64 KiB of the file (never by loading it
whole to look). JSON Lines are then read one line at a time; any other layout is one JSON document,
parsed whole (under the importer's JSON size cap), since compiling releases per ocid needs them all.

Python's ``json`` keeps the last of two equal keys without a word, accepts ``NaN`` and dies with
RecursionError on deep nesting; here a duplicate key or ``NaN`` is refused, and the bracket depth is
checked (strings removed, C-speed passes) before the parser recurses at all. Decimals stay exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

MAX_DEPTH = 64  # OCDS itself nests about 8 deep (versionedRelease about 12)
SNIFF_BYTES = 65536
FIRST_LINE_LIMIT = 64 * 2**20  # a JSON line longer than this is not JSON Lines we read
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


class JsonRefused(ValueError):
    """The file is not JSON we will read; ``code`` is a stable slug, ``where`` says where."""

    def __init__(self, code: str, message: str, where: str | None = None, value: str | None = None):
        self.code, self.where, self.value = code, where, value
        super().__init__(message)


@dataclass(frozen=True)
class Document:
    """One top-level JSON value: a whole document, an item of a top-level array, or one JSON line."""

    value: object
    position: str  # as the user finds it: "line 3", "item 2", "document"
    row: int  # 1-based: line number (JSON Lines), array item, or 1


def sniff(path: Path) -> str:
    """Layout of ``path`` from its first bytes: ``array``, ``object``, ``jsonl`` or ``empty``.

    Raises ``JsonRefused`` for a file that does not start like JSON.
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        skip = 0
        for bom, name in BOMS.items():
            if head.startswith(bom):
                if name != "utf-8-sig":
                    raise JsonRefused("json-encoding", f"the file is {name}; JSON must be UTF-8 (RFC 8259)")
                skip = len(bom)
        text = head[skip:].lstrip()
        if not text:
            return "empty"
        if text[:1] == b"[":
            return "array"
        if text[:1] != b"{":
            raise JsonRefused("json-invalid", "the file is not JSON: it does not start with { or [",
                              value=text[:40].decode("utf-8", "replace"))
        # JSON Lines: the first line is a whole value and another object follows. One release can be
        # far longer than the sniffed bytes, so the first line is read on (and only that line).
        fh.seek(skip)
        first = fh.readline(FIRST_LINE_LIMIT)
        following = fh.read(SNIFF_BYTES).lstrip()
        while not following and len(first) < FIRST_LINE_LIMIT:
            chunk = fh.read(SNIFF_BYTES)
            if not chunk:
                break
            following = chunk.lstrip()
    if following[:1] == b"{" and _complete(first):
        return "jsonl"
    return "object"


def _complete(line: bytes) -> bool:
    """Whether one line holds a whole JSON value (the mark of JSON Lines)."""
    try:
        _parse(line, MAX_DEPTH)
    except JsonRefused:
        return False
    return True


def read_documents(path: Path, max_depth: int | None = None) -> tuple[str, Iterator[Document]]:
    """The file's layout and an iterator over its top-level documents (refusals raise ``JsonRefused``)."""
    layout = sniff(path)
    if layout == "empty":
        raise JsonRefused("json-empty", "the file is empty")
    depth = max_depth or MAX_DEPTH
    if layout == "jsonl":
        return layout, _jsonl(path, depth)
    return layout, _whole(path, layout == "array", depth)


def _whole(path: Path, split_top_array: bool, depth: int) -> Iterator[Document]:
    value = _parse(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), depth)
    if split_top_array:
        for n, item in enumerate(value, start=1):
            yield Document(item, f"item {n}", n)
    else:
        yield Document(value, "document", 1)


def _jsonl(path: Path, depth: int) -> Iterator[Document]:
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                value = _parse(line, depth)
            except JsonRefused as exc:
                raise JsonRefused(exc.code, f"line {lineno}: {exc}", f"line {lineno}", exc.value) from None
            yield Document(value, f"line {lineno}", lineno)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))


def _depth_ok(data: bytes, max_depth: int) -> bool:
    """Whether brackets nest at most ``max_depth`` deep, checked before any parser recurses into them.

    Strings are dropped, then innermost empty pairs are peeled off once per level (C-speed passes).
    """
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return True  # too few brackets to nest that deep: skip the scan
    skeleton = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    for _ in range(max_depth):
        peeled = _peel(skeleton)
        if peeled == skeleton:  # empty, or unbalanced (truncated): the parser names that
            return True
        skeleton = peeled
    return _peel(skeleton) == skeleton


def _peel(skeleton: bytes) -> bytes:
    return skeleton.replace(b"[]", b"").replace(b"{}", b"")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise JsonRefused("json-duplicate-key", f"duplicate key {key!r} in one JSON object", value=key)
    return d


def _constant(name: str):
    raise JsonRefused("json-invalid", f"{name} is not JSON", value=name)


def _parse(data: bytes, max_depth: int):
    """One JSON value: exact decimals, duplicate keys and NaN/Infinity refused, depth capped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRefused("json-encoding", "the file is not UTF-8 text") from None
    if not _depth_ok(data, max_depth):
        raise JsonRefused("json-too-deep", f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise JsonRefused("json-truncated", f"the JSON ends too early ({where})", where) from None
        raise JsonRefused("json-invalid", f"not valid JSON: {exc.msg} ({where})", where) from None


# What a top-level document is: a package, a record or a release, and the releases inside it.

def releases_of(doc: Document) -> tuple[str | None, list[tuple[str, dict]]]:
    """Classify a top-level document and list ``(json path, release)`` pairs inside it."""
    v = doc.value
    if not isinstance(v, dict):
        return None, []
    if isinstance(v.get("records"), list):
        out = []
        for i, rec in enumerate(v["records"]):
            out += record_releases(rec, f"records[{i}]")
        return "record_package", out
    if isinstance(v.get("releases"), list) and (
        "compiledRelease" in v or "versionedRelease" in v or ("ocid" in v and "tag" not in v)
    ):
        return "record", record_releases(v, "")
    if isinstance(v.get("releases"), list):
        return "release_package", [(f"releases[{i}]", r) for i, r in enumerate(v["releases"])]
    if isinstance(v.get("compiledRelease"), dict):
        return "record", record_releases(v, "")
    if "ocid" in v and ("date" in v or "tag" in v or "id" in v):
        return "release", [("", v)]
    return None, []


def record_releases(record, where: str) -> list[tuple[str, dict]]:
    if not isinstance(record, dict):
        return [(where, record)]
    prefix = f"{where}." if where else ""
    embedded = [(f"{prefix}releases[{i}]", r) for i, r in enumerate(record.get("releases") or [])
                if isinstance(r, dict) and ("ocid" in r or {"tender", "buyer", "awards", "contracts"} & r.keys())]
    compiled = record.get("compiledRelease")
    if isinstance(compiled, dict):
        # the publisher's own compilation wins over merging its releases again (some repeat contracts)
        compiled = {**compiled}
        compiled.setdefault("ocid", record.get("ocid"))
        if not compiled.get("date"):
            dates = [r.get("date") for r in record.get("releases") or [] if isinstance(r, dict)]
            dates = [d for d in dates if isinstance(d, str) and d.strip()]
            if dates:
                compiled["date"] = max(dates)
        return [(f"{prefix}compiledRelease", compiled)]
    if embedded:
        return embedded
    return [(where, {"ocid": record.get("ocid")})]  # linked releases only: nothing to read


def not_ocds_message(doc: Document) -> str:
    v = doc.value
    keys = ", ".join(list(v)[:8]) if isinstance(v, dict) else type(v).__name__
    return (f"{doc.position}: expected a release package (releases), a record package (records), "
            f"a record (compiledRelease / releases) or a release (ocid); found {keys}")
