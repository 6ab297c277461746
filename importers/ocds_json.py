"""Reading OCDS JSON safely and by streaming: format sniffing, depth and duplicate-key refusal, layouts.

Publishers ship release packages, record packages, bare records, JSON arrays of packages and JSON
Lines of releases. The layout is decided from the first bytes of the file (never by loading it
whole), then values are built one top-level document (or one array item, or one line) at a time
from ijson's event stream, so a file of a million releases never sits in memory as one tree.

Python's ``json`` keeps the last of two equal keys without a word and dies with RecursionError on
deep nesting; building values from events lets us refuse both with a plain message instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ijson

MAX_DEPTH = 64  # OCDS itself nests about 8 deep (versionedRelease about 12)
SNIFF_BYTES = 65536
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
    for bom, name in BOMS.items():
        if head.startswith(bom):
            if name != "utf-8-sig":
                raise JsonRefused("json-encoding", f"the file is {name}; JSON must be UTF-8 (RFC 8259)")
            head = head[len(bom):]
    text = head.lstrip()
    if not text:
        return "empty"
    if text[:1] == b"[":
        return "array"
    if text[:1] != b"{":
        raise JsonRefused("json-invalid", "the file is not JSON: it does not start with { or [",
                          value=text[:40].decode("utf-8", "replace"))
    first, sep, rest = text.partition(b"\n")
    if sep and rest.lstrip()[:1] == b"{" and _complete(first):
        return "jsonl"
    return "object"


def _complete(line: bytes) -> bool:
    """Whether one line holds a whole JSON value (the mark of JSON Lines)."""
    try:
        for _ in _values(io.BytesIO(line), split_top_array=False):
            pass
    except (JsonRefused, ijson.JSONError, ijson.IncompleteJSONError):
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
    with open(path, "rb") as fh:
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        n = 0
        for n, value in enumerate(_values(fh, split_top_array, depth), start=1):
            if split_top_array:
                yield Document(value, f"item {n}", n)
            else:
                if n > 1:
                    raise JsonRefused("json-invalid", "more than one JSON value in a file that is not JSON Lines")
                yield Document(value, "document", 1)


def _jsonl(path: Path, depth: int) -> Iterator[Document]:
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                values = list(_values(io.BytesIO(line), False, depth))
            except JsonRefused as exc:
                raise JsonRefused(exc.code, f"line {lineno}: {exc}", f"line {lineno}", exc.value) from None
            if len(values) != 1:
                raise JsonRefused("json-invalid", f"line {lineno}: expected one JSON value", f"line {lineno}")
            yield Document(values[0], f"line {lineno}", lineno)


def _values(fh, split_top_array: bool, max_depth: int = MAX_DEPTH) -> Iterator[object]:
    """Build JSON values from ijson events, refusing duplicate keys and nesting beyond MAX_DEPTH.

    With ``split_top_array`` the items of a top-level array are yielded one by one.
    """
    stack: list = []
    keys: list = []
    try:
        for event, value in ijson.basic_parse(fh, multiple_values=True, use_float=False):
            if event == "map_key":
                if value in stack[-1]:
                    raise JsonRefused("json-duplicate-key", f"duplicate key {value!r} in one JSON object",
                                      value=value)
                keys[-1] = value
                continue
            if event in ("start_map", "start_array"):
                stack.append({} if event == "start_map" else [])
                keys.append(None)
                if len(stack) > max_depth:
                    raise JsonRefused("json-too-deep", f"JSON nested deeper than {max_depth} levels")
                continue
            if event in ("end_map", "end_array"):
                value = stack.pop()
                keys.pop()
            if not stack:
                if not (split_top_array and isinstance(value, list) and event == "end_array"):
                    yield value
            elif split_top_array and len(stack) == 1 and isinstance(stack[0], list):
                yield value  # an item of the top-level array: hand it over instead of keeping it
            elif isinstance(stack[-1], list):
                stack[-1].append(value)
            else:
                stack[-1][keys[-1]] = value
    except ijson.IncompleteJSONError as exc:
        raise JsonRefused("json-truncated", f"the JSON ends too early or is malformed ({_short(exc)})") from None
    except ijson.JSONError as exc:
        raise JsonRefused("json-invalid", f"the file is not valid JSON ({_short(exc)})") from None
    except UnicodeDecodeError:
        raise JsonRefused("json-encoding", "the file is not UTF-8 text") from None
    if stack:
        raise JsonRefused("json-truncated", "the JSON ends before its last object or array is closed")


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


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
    if embedded:
        return embedded
    compiled = record.get("compiledRelease")
    if isinstance(compiled, dict):
        compiled = {**compiled}
        compiled.setdefault("ocid", record.get("ocid"))
        return [(f"{prefix}compiledRelease", compiled)]
    return [(where, {"ocid": record.get("ocid")})]  # linked releases only: nothing to read


def not_ocds_message(doc: Document) -> str:
    v = doc.value
    keys = ", ".join(list(v)[:8]) if isinstance(v, dict) else type(v).__name__
    return (f"{doc.position}: expected a release package (releases), a record package (records), "
            f"a record (compiledRelease / releases) or a release (ocid); found {keys}")
