"""The CLI as a user runs it: a real process, a real database."""

import json
import subprocess
import sys
from pathlib import Path

from ledger.store import migrate

SUNSHINE = str(Path(sys.executable).parent / "sunshine")


def run(*args, env=None):
    return subprocess.run([SUNSHINE, *args], capture_output=True, text=True, env=env)


def test_db_upgrade_then_current_reports_head(empty_db_url):
    assert run("--database", empty_db_url, "db", "upgrade").returncode == 0
    result = run("db", "current", "--json", "--database", empty_db_url)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["revision"] == migrate.head_revision() == data["head"]
    assert data["up_to_date"] is True


def test_environment_variable_picks_the_database(empty_db_url, tmp_path):
    import os

    env = {**os.environ, "SUNSHINE_DATABASE_URL": empty_db_url}
    assert run("db", "upgrade", env=env).returncode == 0
    assert json.loads(run("db", "current", "--json", env=env).stdout)["up_to_date"] is True


def test_version_and_usage_errors():
    assert run("--version").stdout.startswith("sunshine, version ")
    assert run("db", "no-such-command").returncode == 2
    assert run("no-such-command").returncode == 2
