"""One message catalogue, Chinese and English, as gettext ``.po`` files read with Babel.

``zh.po`` and ``en.po`` beside this module hold every message the clerk reads outside the web pages:
importer problems (``problem.<code>``), the import / check / flags output of the CLI, and the names of
the measures targets and flags compare (``measure.*``). Message ids are stable keys; the strings use
``str.format`` placeholders (``{value}``), and both languages carry the same placeholders (a test holds
this). Chinese is the default.

The language is, in order: ``set_language`` (the CLI's ``--lang``), ``SUNSHINE_LANG``, the locale
(``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` starting with ``en`` → English), else Chinese.
"""

from __future__ import annotations

import os
import string
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
HERE = Path(__file__).resolve().parent
_chosen: str | None = None


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Message id → text for ``lang`` (zh | en)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use zh or en")
    with (HERE / f"{lang}.po").open("rb") as f:
        cat = read_po(f, locale=None)
    return {m.id: m.string for m in cat if m.id and m.string}


def normalise(lang: str | None) -> str | None:
    """``zh`` / ``en`` for a language tag such as ``zh_CN.UTF-8``, ``en-GB``, ``中文``; None when unknown."""
    if not lang:
        return None
    tag = lang.strip().lower().replace("-", "_")
    if tag.startswith(("zh", "中")) or tag == "cn":
        return "zh"
    if tag.startswith(("en", "英")):
        return "en"
    return None


def set_language(lang: str | None) -> None:
    """Fix the language for this process (the CLI's ``--lang``); None goes back to the environment."""
    global _chosen
    _chosen = normalise(lang) if lang else None


def language() -> str:
    """The language in force: ``set_language``, ``SUNSHINE_LANG``, the locale, else Chinese."""
    if _chosen:
        return _chosen
    env = normalise(os.environ.get("SUNSHINE_LANG"))
    if env:
        return env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return normalise(value) or DEFAULT
    return DEFAULT


def t(msgid: str, lang: str | None = None, /, **fields) -> str:
    """The message ``msgid`` in ``lang`` (default: ``language()``) with its placeholders filled in.

    An unknown id comes back as itself, so a missing entry shows up in output instead of failing.
    """
    text = catalogue(lang or language()).get(msgid, msgid)
    return text.format(**fields) if fields else text


def both(msgid: str, /, **fields) -> tuple[str, str]:
    """``(中文, English)`` for ``msgid``: what is stored beside flags and import reports."""
    return t(msgid, "zh", **fields), t(msgid, "en", **fields)


def has(msgid: str) -> bool:
    return msgid in catalogue(DEFAULT)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
