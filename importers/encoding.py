"""Sniff a text file's encoding once, strictly, and hand polars UTF-8.

Order: a BOM (UTF-8, UTF-16 LE/BE); else strict UTF-8 over the whole file; else UTF-16 without a
BOM (NUL bytes in every other position); else GB18030 or Windows-1252, whichever decodes strictly,
and when both do, GB18030 only if its non-ASCII characters are nearly all common CJK text. Nothing is
ever decoded lossily: a file none of these fit is refused with a message naming ``--encoding``.
"""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

from importers.safety import Refused

CHUNK = 16 << 20
_BOMS = [(codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
ALIASES = {"utf8": "utf-8", "utf-8-bom": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030",
           "cp1252": "windows-1252", "latin1": "windows-1252", "utf16": "utf-16"}


def normalise_name(name: str) -> str:
    name = name.strip().lower()
    name = ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        raise Refused("encoding-unknown", f": {name} is not an encoding Python knows") from None
    return name


def decodes(path: Path, encoding: str) -> bool:
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(sample: bytes) -> bool:
    text = sample.decode("gb18030", errors="ignore")
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return True
    cjk = sum(1 for c in wide if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return cjk >= 0.9 * len(wide)


def sniff(path: Path) -> str:
    """The encoding of ``path`` (a Python codec name), or ``Refused('encoding-unknown')``."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    for bom, name in _BOMS:
        if head.startswith(bom):
            if not decodes(path, name):
                raise Refused("encoding-unknown", f" (it starts with a {name} byte-order mark but does not decode)")
            return name
    if decodes(path, "utf-8"):
        return "utf-8"
    even, odd = head[0::2], head[1::2]
    if head and odd.count(0) > 0.3 * len(odd) and decodes(path, "utf-16-le"):
        return "utf-16-le"
    if head and even.count(0) > 0.3 * len(even) and decodes(path, "utf-16-be"):
        return "utf-16-be"
    gb = decodes(path, "gb18030")
    w1252 = decodes(path, "windows-1252")
    if gb and (not w1252 or _looks_chinese(head)):
        return "gb18030"
    if w1252:
        return "windows-1252"
    raise Refused("encoding-unknown")


def utf8_path(path: Path, encoding: str, workdir: Path) -> Path:
    """``path`` itself when it is plain UTF-8, else a strict UTF-8 transcode of it inside ``workdir``."""
    if encoding == "utf-8":
        return path
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    out = Path(tempfile.mkstemp(dir=workdir, suffix=".csv")[1])
    try:
        with path.open("rb") as src, out.open("wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(dec.decode(chunk).encode("utf-8"))
            dst.write(dec.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as e:
        raise Refused("encoding-unknown", f" (not valid {encoding} at byte {e.start})") from None
    return out
