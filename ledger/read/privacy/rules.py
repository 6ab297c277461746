"""The ``[privacy]`` rules and the one function that says whether a name is a natural person's.

Rules in order (the first that decides wins):

1. ``never_personal`` / ``always_personal``: the bureau's own lists (exact names, spaces trimmed);
2. the file's payee-type column (``personal_types`` / ``organisation_types``) when the row has one;
3. ``source_markers``: the source already hid a person (e.g. Leeds' ``REDACTED PERSONAL DATA``);
4. an organisational word (``org_words_zh`` of two or more characters anywhere, one-character ones
   such as 局 or 店 as the last character; ``org_words_en`` as whole words, any case): not a person;
5. ``personal_titles``: a Latin name starting with Mr, Mrs, Dr … is a person;
6. ``initials_surname``: one to three initials and one surname, nothing else (``A APPLEYARD``,
   ``J D MUMFORD``): how UK councils name sole traders;
7. ``latin_given_names``: a common given name, perhaps an initial, and one surname (``Alison Hunt``,
   ``JOHN HAYES``, ``John M Parker``), nothing else;
8. the Chinese personal-name heuristic: 2–4 Han characters starting with a common surname.

A name with a ``trading_as`` separator (``T W Buxey T/A Sorted``) is a person's when the part before it
(the proprietor) is one by rules 5–7. Rules 6 and 7 guess: they miss persons named otherwise and
catch a firm named like a person (``Richard Ellis``); organisational words come first, and
``never_personal`` / ``always_personal`` settle single names (docs/privacy.md lists the trade-off).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO_CONFIG = Path(__file__).resolve().parents[3] / "sunshine.toml"

RULES = ("always_personal", "type_column", "source_marker", "personal_title", "initials_surname", "given_name",
         "han_name")
INITIALS_SURNAME = re.compile(r"^(?:[A-Za-z]\.?\s+){1,3}[A-Za-z][A-Za-z'\-]+$")
LATIN_WORDS = re.compile(r"^([A-Za-z]+)\s+(?:[A-Za-z]\.?\s+)?[A-Za-z][A-Za-z'\-]+$")  # given [initial] surname
HAN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


class PrivacyConfigError(ValueError):
    """The ``[privacy]`` section is missing or malformed (the message names the file and key)."""


def _words(value) -> list[str]:
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass(frozen=True)
class PrivacyRules:
    """The detection rules of ``[privacy]``; ``classify`` applies them to one name."""

    label_zh: str = "个人（已隐去）"
    label_en: str = "Redacted – personal data"
    always_personal: frozenset[str] = frozenset()
    never_personal: frozenset[str] = frozenset()
    personal_types: frozenset[str] = frozenset()
    organisation_types: frozenset[str] = frozenset()
    source_markers: frozenset[str] = frozenset()
    org_words_zh: tuple[str, ...] = ()
    org_words_en: tuple[str, ...] = ()
    personal_titles: tuple[str, ...] = ()
    han_surnames: frozenset[str] = frozenset()
    han_compound_surnames: tuple[str, ...] = ()
    initials_surname: bool = False
    latin_given_names: frozenset[str] = frozenset()  # lower case
    trading_as: tuple[str, ...] = ()
    _latin_org: re.Pattern | None = field(default=None, compare=False, repr=False)
    _title: re.Pattern | None = field(default=None, compare=False, repr=False)
    _trading: re.Pattern | None = field(default=None, compare=False, repr=False)
    _zh_org: re.Pattern | None = field(default=None, compare=False, repr=False)  # the 2+ character words
    _zh_tail: tuple[str, ...] = field(default=(), compare=False, repr=False)  # the one-character words
    _fingerprint: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        words = "|".join(re.escape(w) for w in sorted(self.org_words_en, key=len, reverse=True))
        titles = "|".join(re.escape(t) for t in self.personal_titles)
        object.__setattr__(self, "_latin_org", re.compile(rf"(?<![A-Za-z])(?:{words})(?![A-Za-z])", re.I)
                           if words else None)
        object.__setattr__(self, "_title", re.compile(rf"^(?:{titles})\.?\s+\S", re.I) if titles else None)
        seps = "|".join(re.escape(t) for t in self.trading_as)
        object.__setattr__(self, "_trading", re.compile(rf"\s+(?:{seps})\s+", re.I) if seps else None)
        # one search in C instead of a Python loop over every word: a page of new payees classified each miss
        multi = sorted((w for w in self.org_words_zh if len(w) > 1), key=len, reverse=True)
        object.__setattr__(self, "_zh_org", re.compile("|".join(re.escape(w) for w in multi)) if multi else None)
        object.__setattr__(self, "_zh_tail", tuple(w for w in self.org_words_zh if len(w) == 1))
        object.__setattr__(self, "_fingerprint", None)  # dataclasses.replace copies it: hash the new rules afresh

    def fingerprint(self) -> str:
        """A hash of the rules: a cache of decisions is valid only for the rules it was made with."""
        if self._fingerprint is None:  # the rules are frozen: hashed once, not on every request
            data = {k: sorted(v) if isinstance(v, frozenset | tuple) else v
                    for k, v in self.__dict__.items() if not k.startswith("_")}
            digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", digest)
        return self._fingerprint

    def is_organisation(self, name: str) -> bool:
        if (self._zh_org is not None and self._zh_org.search(name)) or (self._zh_tail and name.endswith(self._zh_tail)):
            return True
        return bool(self._latin_org and self._latin_org.search(name))

    def classify(self, name: str | None, payee_type: str | None = None) -> str | None:
        """The rule that makes ``name`` a natural person's (one of ``RULES``), or None when it is not one."""
        if name is None:
            return None
        n = " ".join(name.split())
        if not n or n in self.never_personal:
            return None
        if n in self.always_personal:
            return "always_personal"
        kind = (payee_type or "").strip().lower()
        if kind:
            if kind in self.personal_types:
                return "type_column"
            if kind in self.organisation_types:
                return None
        if n.upper() in self.source_markers:
            return "source_marker"
        if self._trading and (parts := self._trading.split(n, maxsplit=1))[1:]:
            return None if self.is_organisation(parts[0]) else self._latin_person(parts[0])
        if self.is_organisation(n):
            return None
        if latin := self._latin_person(n):
            return latin
        if HAN.match(n) and (n[0] in self.han_surnames or n[:2] in self.han_compound_surnames):
            return "han_name"
        return None


    def _latin_person(self, n: str) -> str | None:
        if self._title and self._title.match(n):
            return "personal_title"
        if self.initials_surname and INITIALS_SURNAME.match(n):
            return "initials_surname"
        m = LATIN_WORDS.match(n)
        if m and m.group(1).lower() in self.latin_given_names:
            return "given_name"
        return None


def config_path() -> Path:
    """``$SUNSHINE_CONFIG`` when set, else ``sunshine.toml`` at the repository root."""
    env = os.environ.get("SUNSHINE_CONFIG")
    return Path(env) if env else REPO_CONFIG


def load(path: str | Path | None = None) -> PrivacyRules:
    """The ``[privacy]`` rules of ``path`` (default ``config_path()``); a file without the section gets those
    of the repository's ``sunshine.toml`` (``PrivacyConfigError`` on a malformed section)."""
    path = Path(path) if path else config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PrivacyConfigError(f"configuration file {path} not found (set SUNSHINE_CONFIG to its path)") from None
    except tomllib.TOMLDecodeError as exc:
        raise PrivacyConfigError(f"{path}: not valid TOML: {exc}") from None
    sec = data.get("privacy")
    if sec is None:
        # A configuration without [privacy] (an older copy) hides with the shipped rules, never with none.
        return load(REPO_CONFIG) if path.resolve() != REPO_CONFIG.resolve() else PrivacyRules()
    if not isinstance(sec, dict):
        raise PrivacyConfigError(f"{path}: [privacy] is not a table")
    lists = ("always_personal", "never_personal", "personal_types", "organisation_types", "source_markers",
             "org_words_zh", "org_words_en", "personal_titles", "han_compound_surnames", "latin_given_names",
             "trading_as")
    for key in lists:
        if not isinstance(sec.get(key, []), list):
            raise PrivacyConfigError(f"{path}: [privacy] {key} must be a list of strings")
    surnames = sec.get("han_surnames", "")
    if not isinstance(surnames, str):
        raise PrivacyConfigError(f"{path}: [privacy] han_surnames must be one string of surnames")
    return PrivacyRules(
        label_zh=str(sec.get("label_zh", PrivacyRules.label_zh)),
        label_en=str(sec.get("label_en", PrivacyRules.label_en)),
        always_personal=frozenset(" ".join(w.split()) for w in _words(sec.get("always_personal", []))),
        never_personal=frozenset(" ".join(w.split()) for w in _words(sec.get("never_personal", []))),
        personal_types=frozenset(w.lower() for w in _words(sec.get("personal_types", []))),
        organisation_types=frozenset(w.lower() for w in _words(sec.get("organisation_types", []))),
        source_markers=frozenset(w.upper() for w in _words(sec.get("source_markers", []))),
        org_words_zh=tuple(_words(sec.get("org_words_zh", []))),
        org_words_en=tuple(_words(sec.get("org_words_en", []))),
        personal_titles=tuple(_words(sec.get("personal_titles", []))),
        han_surnames=frozenset(c for c in surnames if not c.isspace()),
        han_compound_surnames=tuple(_words(sec.get("han_compound_surnames", []))),
        initials_surname=_flag(path, sec, "initials_surname"),
        latin_given_names=frozenset(w.lower() for w in _words(sec.get("latin_given_names", []))),
        trading_as=tuple(_words(sec.get("trading_as", []))),
    )


def _flag(path: Path, sec: dict, key: str) -> bool:
    value = sec.get(key, False)
    if not isinstance(value, bool):
        raise PrivacyConfigError(f"{path}: [privacy] {key} must be true or false")
    return value
