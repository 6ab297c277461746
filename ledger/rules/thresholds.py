"""Flag thresholds from configuration: ``sunshine.toml`` at the repository root, or ``$SUNSHINE_CONFIG``.

Thresholds live in the file, never in code: a missing file or a missing key is an error that names
the file and the key, so nobody runs checks against numbers they did not choose.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path

from ledger.money import parse_amount

REPO_CONFIG = Path(__file__).resolve().parents[2] / "sunshine.toml"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or lacks a threshold."""


def config_path() -> Path:
    """``$SUNSHINE_CONFIG`` when set, else ``sunshine.toml`` beside the ``ledger`` package."""
    env = os.environ.get("SUNSHINE_CONFIG")
    return Path(env) if env else REPO_CONFIG


def load_flag_config(path: str | Path | None = None) -> dict[str, dict]:
    """The ``[flags]`` section as ``{rule_code: {key: value}}``."""
    path = Path(path) if path else config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found (set SUNSHINE_CONFIG to its path)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    flags = data.get("flags")
    if not isinstance(flags, dict):
        raise ConfigError(f"{path}: no [flags] section")
    return {code: dict(v) for code, v in flags.items() if isinstance(v, dict)} | {"_path": {"path": str(path)}}


def fingerprint(config: dict) -> str:
    """A hash of the thresholds (not of the file's path or comments)."""
    clean = {k: v for k, v in config.items() if k != "_path"}
    return hashlib.sha256(json.dumps(clean, sort_keys=True, default=str).encode()).hexdigest()


def get(config: dict, rule: str, key: str):
    """One threshold; ``ConfigError`` naming the section and key when it is absent."""
    try:
        return config[rule][key]
    except KeyError:
        where = config.get("_path", {}).get("path", "configuration")
        raise ConfigError(f"{where}: [flags.{rule}] has no {key!r}") from None


def section(config: dict, rule: str) -> dict:
    """The ``[flags.<rule>]`` table; ``ConfigError`` when the file has none."""
    if rule not in config:
        where = config.get("_path", {}).get("path", "configuration")
        raise ConfigError(f"{where}: no [flags.{rule}] section")
    return config[rule]


def yuan(config: dict, rule: str, key: str) -> int:
    """A threshold given in 元, as integer fen (exact: parsed by ``ledger.money``)."""
    value = get(config, rule, key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"[flags.{rule}] {key} must be an amount in 元, not {value!r}")
    return parse_amount(str(Decimal(str(value))))


def pct_hundredths(config: dict, rule: str, key: str) -> int:
    """A percentage threshold as an integer number of hundredths of a percent (2.5 → 250)."""
    value = Decimal(str(get(config, rule, key)))
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"[flags.{rule}] {key}: at most two decimals, got {value}")
    return int(scaled)


def amounts_by_currency(config: dict, rule: str, keys: dict[str, str]) -> dict[str, dict[str, int]]:
    """A rule's amount thresholds per currency, as integer hundredths of that currency.

    ``keys`` maps each 元 key (``max_award_yuan``) to its name in another currency's table
    (``max_award``): CNY reads the 元 keys; ``[flags.<rule>.currency.EUR]`` gives EUR's, in euros.
    A currency with no table is absent, so its records are never held against a 元 threshold.
    """
    out = {"CNY": {k: yuan(config, rule, k) for k in keys}}
    others = section(config, rule).get("currency") or {}
    if not isinstance(others, dict):
        raise ConfigError(f"[flags.{rule}.currency] must be a table of currencies")
    for cur, table in sorted(others.items()):
        if not isinstance(table, dict) or len(cur) != 3 or cur.upper() != cur:
            raise ConfigError(f"[flags.{rule}.currency.{cur}] must be a table named by an ISO 4217 code (EUR)")
        values = {}
        for k, name in keys.items():
            if name not in table:
                raise ConfigError(f"[flags.{rule}.currency.{cur}] has no {name!r}")
            value = table[name]
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ConfigError(f"[flags.{rule}.currency.{cur}] {name} must be an amount, not {value!r}")
            values[k] = parse_amount(str(Decimal(str(value))))
        out[cur] = values
    return out
