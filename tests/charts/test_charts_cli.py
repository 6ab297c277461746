"""``sunshine charts``: writes every chart, refuses an unknown unit with exit code 1."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import root
from tests.seed_public import seed


def test_charts_command_writes_png_and_svg(engine, db_url, tmp_path):
    seed(engine)
    out = tmp_path / "charts"
    result = CliRunner().invoke(root, ["--database", db_url, "charts", "--out", str(out), "--unit", "EDU",
                                       "--year", "2023"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"{n}-EDU.{f}" for n in ("trend", "composition", "compliance", "procurement", "methods") for f in ("png", "svg")]
        + ["ranking.png", "ranking.svg"]
    )
    assert "教育局：三公经费预算与实际支出" in (out / "trend-EDU.svg").read_text(encoding="utf-8")
    assert (out / "methods-EDU.png").read_bytes().startswith(b"\x89PNG")


def test_charts_command_english_svg_only(engine, db_url, tmp_path):
    seed(engine)
    result = CliRunner().invoke(root, ["--database", db_url, "charts", "--out", str(tmp_path), "--lang", "en",
                                       "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.svg"))) == 6 and not list(tmp_path.glob("*.png"))
    assert "Whole region: procurement scale and savings rate" in (tmp_path / "procurement.svg").read_text()


def test_charts_command_refuses_unknown_unit(engine, db_url, tmp_path):
    result = CliRunner().invoke(root, ["--database", db_url, "charts", "--out", str(tmp_path), "--unit", "NOPE"])
    assert result.exit_code == 1 and "no unit with code 'NOPE'" in result.output
    bad = CliRunner().invoke(root, ["--database", db_url, "charts", "--out", str(tmp_path), "--format", "gif"])
    assert bad.exit_code == 2
