"""Backups: SQLite's online backup API, and pg_dump / pg_restore for PostgreSQL.

A SQLite backup is a consistent copy taken while the ledger keeps serving (the backup API copies
pages under a read lock and restarts if a writer changes them). A PostgreSQL backup is a
``pg_dump --format=custom`` archive, restored with ``pg_restore --clean`` in one transaction.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ledger.config import database_url


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why."""


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(db)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools")
    return path


def _integrity(path: Path) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = con.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from exc
    finally:
        con.close()
    if result != [("ok",)]:
        raise BackupError(f"{path} fails its integrity check: {result[:3]}")


def backup(file: str | Path, url: str | None = None) -> dict:
    """Write a consistent backup of the database to ``file``."""
    url, file = database_url(url), Path(file)
    if url.startswith("sqlite"):
        src = sqlite3.connect(_sqlite_path(url))
        tmp = file.with_name(file.name + ".partial")
        tmp.unlink(missing_ok=True)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        _integrity(tmp)
        tmp.replace(file)
        return {"backend": "sqlite", "file": str(file), "bytes": file.stat().st_size}
    tmp = file.with_name(file.name + ".partial")
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={_libpq_url(url)}"])
    tmp.replace(file)
    return {"backend": "postgresql", "file": str(file), "bytes": file.stat().st_size}


def restore(file: str | Path, url: str | None = None) -> dict:
    """Replace the database's contents with the backup in ``file``."""
    url, file = database_url(url), Path(file)
    if not file.is_file():
        raise BackupError(f"{file} does not exist")
    if url.startswith("sqlite"):
        _integrity(file)
        src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        dst = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
            src.close()
        _integrity(_sqlite_path(url))
        return {"backend": "sqlite", "file": str(file)}
    _restore_pg(file, url)
    return {"backend": "postgresql", "file": str(file)}


# pg_restore --clean (15) drops each year partition's inherited primary key before the partitioned
# table's own, which PostgreSQL refuses; dropping the partitioned table's key and tables drops them anyway.
_PARTITION_KEY_DROP = re.compile(
    rb"^ALTER TABLE IF EXISTS ONLY public\.((?:expense_entry|budget_line)_(?:y\d+|default)) "
    rb"DROP CONSTRAINT IF EXISTS \1_pkey;$")


def _restore_pg(file: Path, url: str) -> None:
    """pg_restore's script, its clean-up lines filtered, run by psql in one transaction (all or nothing)."""
    dump = subprocess.Popen([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--file=-", str(file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    psql = subprocess.Popen([_tool("psql"), "--single-transaction", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1",
                             f"--dbname={_libpq_url(url)}", "--file=-"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for line in dump.stdout:  # the clean-up comes first, before any CREATE
            if line.startswith(b"CREATE "):
                psql.stdin.write(line)
                break
            if not _PARTITION_KEY_DROP.match(line.rstrip(b"\n")):
                psql.stdin.write(line)
        shutil.copyfileobj(dump.stdout, psql.stdin, 1 << 20)
    except BrokenPipeError:
        pass  # psql stopped on an error: reported below
    finally:
        try:
            psql.stdin.close()
        except BrokenPipeError:
            pass
    psql_err = psql.stderr.read().decode(errors="replace")
    dump_err = dump.stderr.read().decode(errors="replace")
    if dump.wait() != 0:
        raise BackupError(f"pg_restore failed: {dump_err.strip()[-2000:]}")
    if psql.wait() != 0:
        raise BackupError(f"pg_restore failed: {psql_err.strip()[-2000:]}")


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")
