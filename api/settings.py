"""API settings read from the environment, in one place (documented in docs/api.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _list(name: str, default: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, default).split(",") if p.strip()]


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    rate_limit: int = 120  # requests per client per window on public reads; 0 turns it off
    rate_window_s: int = 60
    max_body_bytes: int = 50 * 1024 * 1024
    cache_max_age_s: int = 60
    response_cache: bool = True  # keep finished public responses in memory (off: every read runs its SQL)
    version_ttl_s: float = 1.0  # how stale the data version (ETags, response cache) may be after an outside write
    debug: bool = False
    warm: bool = False  # fill the process caches at start-up (``api.warm``); ``from_env`` turns it on
    stream_max: int = 8  # downloads running at once per worker; the next gets 503 (0 = no limit)
    stream_stall_s: float = 30.0  # a download whose client takes nothing for this long is ended
    stream_timeout_s: float = 3600.0  # no download runs longer than this
    stream_chunk_rows: int = 5000  # rows read per short transaction while streaming
    data_license: str = "CC-BY-4.0"
    data_source: str = "Sunshine Ledger (阳光账本): published budgets, final accounts and procurement records"

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url,
            allowed_hosts=_list("SUNSHINE_ALLOWED_HOSTS", "127.0.0.1,localhost,::1"),
            cors_origins=_list("SUNSHINE_CORS_ORIGINS", "*"),
            rate_limit=_int("SUNSHINE_RATE_LIMIT", 120),
            rate_window_s=_int("SUNSHINE_RATE_WINDOW", 60),
            max_body_bytes=_int("SUNSHINE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024),
            cache_max_age_s=_int("SUNSHINE_CACHE_MAX_AGE", 60),
            response_cache=_int("SUNSHINE_RESPONSE_CACHE", 1) != 0,
            version_ttl_s=float(os.environ.get("SUNSHINE_VERSION_TTL") or 1.0),
            stream_max=_int("SUNSHINE_STREAM_MAX", 8),
            stream_stall_s=float(os.environ.get("SUNSHINE_STREAM_STALL") or 30.0),
            stream_timeout_s=float(os.environ.get("SUNSHINE_STREAM_TIMEOUT") or 3600.0),
            stream_chunk_rows=_int("SUNSHINE_STREAM_CHUNK_ROWS", 5000),
            data_license=os.environ.get("SUNSHINE_DATA_LICENSE", "CC-BY-4.0"),
            warm=_int("SUNSHINE_WARM", 1) != 0,
        )
