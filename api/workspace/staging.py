"""Files waiting for the clerk's confirmation between the dry run and the import.

A checked file is kept under ``SUNSHINE_STAGING_DIR`` (default: the system's temporary folder) in a
folder named by a random id, beside a small JSON saying which account staged it, the kind and the
options. Only that account may confirm it; it is removed once confirmed, and anything older than
``MAX_AGE_S`` is swept on the next upload.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

MAX_AGE_S = 24 * 3600
_ID = re.compile(r"^[0-9a-f]{32}$")


def root() -> Path:
    base = os.environ.get("SUNSHINE_STAGING_DIR") or tempfile.gettempdir()
    path = Path(base) / "sunshine-staged"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def safe_name(name: str | None) -> str:
    name = Path(name or "upload").name[:200].replace("\x00", "")
    return "upload" if name in ("", ".", "..") else name


def stage(source: BinaryIO, name: str, meta: dict) -> tuple[str, Path]:
    """Copy an upload into a new staging folder; returns its id and the file's path."""
    _sweep()
    stage_id = secrets.token_hex(16)
    folder = root() / stage_id
    folder.mkdir(mode=0o700)
    path = folder / safe_name(name)
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    (folder / "meta.json").write_text(json.dumps(meta | {"name": path.name}), encoding="utf-8")
    return stage_id, path


def load(stage_id: str, account_id: int) -> tuple[Path, dict] | None:
    """The staged file and its options, when ``account_id`` staged it; else None."""
    if not _ID.match(stage_id or ""):
        return None
    folder = root() / stage_id
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("account_id") != account_id:
        return None
    return folder / meta["name"], meta


def drop(stage_id: str) -> None:
    if _ID.match(stage_id or ""):
        shutil.rmtree(root() / stage_id, ignore_errors=True)


def _sweep() -> None:
    cutoff = time.time() - MAX_AGE_S
    for folder in root().iterdir():
        try:
            if folder.is_dir() and _ID.match(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
