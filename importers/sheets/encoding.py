"""Sniff a text file's encoding once, strictly, with evidence, and hand polars UTF-8.

Order: a BOM (UTF-8, UTF-16 LE/BE); else strict UTF-8 over the whole file; else UTF-16 without a
BOM (NUL bytes in every other position); else GB18030 or Windows-1252, whichever decodes strictly.
When both do (a Windows-1252 "Büchler" is also valid GB18030, as "B點hler"), the evidence decides:
charset-normalizer's mess ratio (lower is better) and coherence over the first 64 KiB decoded each
way, then a CJK-density test (GB18030 only if its non-ASCII characters are nearly all CJK text in runs,
not single characters glued between Latin letters) against a letters test (Windows-1252 reads 北京 as
``±±¾©``: symbols, not letters). ``detect`` returns the choice with its reason and
a confidence; a low-confidence choice becomes an ``encoding-uncertain`` warning naming ``--encoding``.
Nothing is ever decoded lossily: a file none of these fit is refused with a message naming ``--encoding``.
"""

from __future__ import annotations

import codecs
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from importers.sheets.safety import Refused

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


@dataclass(frozen=True)
class Detected:
    """The encoding chosen for a file, why, and how sure (``certain`` | ``high`` | ``low``)."""

    encoding: str
    reason: str
    confidence: str = "certain"
    scores: dict | None = None  # candidate -> {"mess": …, "coherence": …, "cjk": …} when evidence was weighed

    def report(self) -> dict:
        return {"encoding": self.encoding, "reason": self.reason, "confidence": self.confidence,
                **({"scores": self.scores} if self.scores else {})}


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_GLUED = re.compile(r"[A-Za-z][\u3400-\u9fff][A-Za-z]")  # B點hler: one CJK character inside a Latin word


def cjk_density(text: str) -> float:
    """Share of non-ASCII characters that are CJK text, less those glued singly inside Latin words."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 1.0
    return max(0, len(_CJK.findall(text)) - 3 * len(_GLUED.findall(text))) / len(wide)


def latin_density(text: str) -> float:
    """Share of non-ASCII characters that are letters (Büchler's ü, not ±©·¹ read from Chinese bytes)."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 1.0
    return sum(1 for c in wide if unicodedata.category(c).startswith("L")) / len(wide)


def _weigh(head: bytes) -> Detected:
    """GB18030 or Windows-1252 for a file both decode strictly, by evidence."""
    cut = head.rfind(b"\n")
    sample = head[: cut + 1] if cut > 0 else head
    gb_text, w_text = sample.decode("gb18030", "ignore"), sample.decode("windows-1252", "ignore")
    scores = {"gb18030": {"mess": None, "coherence": None, "cjk": round(cjk_density(gb_text), 3)},
              "windows-1252": {"mess": None, "coherence": None, "latin": round(latin_density(w_text), 3)}}
    try:
        from charset_normalizer import from_bytes

        for m in from_bytes(sample, cp_isolation=["gb18030", "cp1252"]):
            name = "windows-1252" if m.encoding == "cp1252" else m.encoding
            if name in scores:
                scores[name] |= {"mess": round(m.chaos, 3), "coherence": round(m.coherence, 3)}
    except ImportError:  # an optional aid: the CJK-density test alone still decides
        pass
    gb, w = scores["gb18030"], scores["windows-1252"]
    chinese = gb["cjk"] >= 0.9
    # the letters test decides only when one reading is clearly text and the other is not
    clear = (chinese and w["latin"] < 0.5) or (gb["cjk"] < 0.5 and w["latin"] >= 0.9)
    shown = "; ".join(f"{n}: mess {v['mess'] if v['mess'] is not None else 'rejected'}, "
                      f"coherence {v['coherence'] if v['coherence'] is not None else '-'}, "
                      + (f"CJK {v['cjk']}" if "cjk" in v else f"letters {v['latin']}")
                      for n, v in scores.items())
    both = "GB18030 and Windows-1252 both decode it strictly"
    if gb["mess"] is not None and w["mess"] is not None:
        if abs(gb["mess"] - w["mess"]) >= 0.02:
            pick = "gb18030" if gb["mess"] < w["mess"] else "windows-1252"
            sure = "high" if (pick == "gb18030") == chinese else "low"
            return Detected(pick, f"{both}; {pick} reads with less mess ({shown})", sure, scores)
        pick = "gb18030" if chinese else "windows-1252"
        how = "CJK text against letters" if clear else "CJK density"
        return Detected(pick, f"{both}; equal mess, {how} decides ({shown})", "high" if clear else "low", scores)
    if gb["mess"] is not None or w["mess"] is not None:
        pick = "gb18030" if gb["mess"] is not None else "windows-1252"
        sure = "high" if (pick == "gb18030") == chinese else "low"
        return Detected(pick, f"{both}; only {pick} reads as plausible text ({shown})", sure, scores)
    pick = "gb18030" if chinese else "windows-1252"
    return Detected(pick, f"{both}; neither reads as plausible text, CJK density decides ({shown})", "low", scores)


def sniff(path: Path) -> str:
    """The encoding of ``path`` (a Python codec name), or ``Refused('encoding-unknown')``."""
    return detect(path).encoding


def detect(path: Path) -> Detected:
    """The encoding of ``path`` with the reason and confidence, or ``Refused('encoding-unknown')``."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    for bom, name in _BOMS:
        if head.startswith(bom):
            if not decodes(path, name):
                raise Refused("encoding-unknown", f" (it starts with a {name} byte-order mark but does not decode)")
            return Detected(name, f"{name} byte-order mark")
    if decodes(path, "utf-8"):
        ascii_only = head.isascii() and path.stat().st_size <= len(head)
        return Detected("utf-8", "plain ASCII" if ascii_only else "the whole file is valid UTF-8")
    even, odd = head[0::2], head[1::2]
    if head and odd.count(0) > 0.3 * len(odd) and decodes(path, "utf-16-le"):
        return Detected("utf-16-le", "UTF-16 without a byte-order mark (NUL in every other byte)", "high")
    if head and even.count(0) > 0.3 * len(even) and decodes(path, "utf-16-be"):
        return Detected("utf-16-be", "UTF-16 without a byte-order mark (NUL in every other byte)", "high")
    gb = decodes(path, "gb18030")
    w1252 = decodes(path, "windows-1252")
    if gb and w1252:
        return _weigh(head)
    if gb:
        return Detected("gb18030", "not UTF-8; only GB18030 decodes it strictly (Windows-1252 does not)", "high")
    if w1252:
        return Detected("windows-1252", "not UTF-8; only Windows-1252 decodes it strictly (GB18030 does not)", "high")
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


# The phrases a reason is built from, by catalogue id: ``say_reason`` renders one in the language in force.
_PHRASES = [
    ("encoding.both-strict", "GB18030 and Windows-1252 both decode it strictly"),
    ("encoding.whole-utf8", "the whole file is valid UTF-8"),
    ("encoding.plain-ascii", "plain ASCII"),
    ("encoding.utf16-no-bom", "UTF-16 without a byte-order mark (NUL in every other byte)"),
    ("encoding.neither-plausible", "neither reads as plausible text, CJK density decides"),
    ("encoding.equal-mess-letters", "equal mess, CJK text against letters decides"),
    ("encoding.equal-mess-density", "equal mess, CJK density decides"),
    ("encoding.bom", "byte-order mark"),
    ("encoding.only", "only "),
    ("encoding.plausible", " reads as plausible text"),
    ("encoding.less-mess", " reads with less mess"),
    ("encoding.mess", "mess "),
    ("encoding.coherence", "coherence "),
    ("encoding.rejected", "rejected"),
    ("encoding.letters", "letters "),
]


def say_reason(reason: str) -> str:
    """``reason`` (as ``detect`` gives it, in English) in the language in force; figures stay as they are."""
    from ledger.i18n import t

    for msgid, english in _PHRASES:
        reason = reason.replace(english, t(msgid))
    return reason
