"""The layer rules: ledger/ is the core and pulls in neither the web nor the plotting stack."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_linter_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_ledger_does_not_load_litestar_or_matplotlib():
    code = (
        "import sys, importlib, pkgutil, ledger\n"
        "for m in pkgutil.walk_packages(ledger.__path__, 'ledger.'): importlib.import_module(m.name)\n"
        "bad = {n.split('.')[0] for n in sys.modules} & {'litestar','matplotlib','importers','api','charts','cli'}\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
