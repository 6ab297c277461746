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
