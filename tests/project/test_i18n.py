"""The one message catalogue: both languages, same ids, same placeholders; chosen by --lang, SUNSHINE_LANG or
the locale, Chinese by default."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cli.main import root
from importers.problems import MESSAGES, render
from ledger.i18n import LANGUAGES, both, catalogue, language, placeholders, set_language, t
from tests.ledgertext import load_ledger, run

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_message_id_has_both_languages():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en) and len(zh) > 90
    assert all(zh[i].strip() and en[i].strip() for i in zh)


@pytest.mark.parametrize("msgid", sorted(catalogue("zh")))
def test_same_placeholders_and_chinese_really_chinese(msgid):
    zh, en = catalogue("zh")[msgid], catalogue("en")[msgid]
    assert placeholders(zh) == placeholders(en), msgid
    bare = re.sub(r"\{[^}]*\}", "", zh)
    if bare.strip(" :：()（）,.;—–…-") and not bare.startswith(("编号", "{")):
        assert CJK.search(bare) or zh == en, f"{msgid}: {zh!r} has no Chinese"


def test_problem_messages_carry_figures_hints_and_detail_in_both_languages():
    zh, en = render("total-mismatch", "34.00", "1.00 元")
    assert zh == "合计行写明 34.00，与明细之和相差 1.00 元（请核对该合计行及其上方的明细行）"
    assert en == ("the stated total 34.00 differs from the sum of the detail rows by 1.00 元 "
                  "(check this total row and the rows above it)")
    zh, en = render("date-invalid", "2024.13.01", None)
    assert zh == "“2024.13.01”不是日期（请写成 YYYY-MM-DD，如 2024-03-01；也可写 2024/03/01 或 2024年3月1日）"
    assert "YYYY-MM-DD" in en
    zh, en = render("probable-duplicate", None, "7")
    assert zh.startswith("疑似已导入：与批次 7 中的一行相同") and "--allow-duplicates" in zh
    assert en.startswith("probably already in the ledger: the same as a row of batch 7") and "--allow-duplicates" in en
    assert set(MESSAGES) >= {"total-mismatch", "date-invalid", "probable-duplicate", "amount-unit-unknown"}


def test_language_choice(monkeypatch):
    assert language() == "zh"  # C.UTF-8: Chinese by default
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert language() == "en"
    monkeypatch.setenv("SUNSHINE_LANG", "zh_CN")
    assert language() == "zh"
    set_language("en")
    assert language() == "en" and t("severity.error") == "error"
    set_language(None)
    assert t("severity.error") == "错误" and both("measure.budget") == ("预算数", "budget")
    assert LANGUAGES == ("zh", "en")


def test_flags_list_has_headers_in_the_chosen_language(engine, db_url, monkeypatch):
    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """)
    run(engine)
    zh = CliRunner().invoke(root, ["--database", db_url, "flags", "list"]).output.splitlines()
    assert zh[0].split() == ["编号", "规则", "核查状态", "数据状态", "说明"]
    assert zh[1].endswith("U1 2009年：公务接待费决算数2.05万元，超出预算数0.05万元（2.5%）")
    assert zh[2] == "共 1 条风险标记；详情：sunshine flags show 编号"
    monkeypatch.setenv("SUNSHINE_LANG", "en")
    en = CliRunner().invoke(root, ["--database", db_url, "flags", "list"]).output.splitlines()
    assert en[0].split() == ["ID", "Rule", "Review", "state", "Data", "status", "Message"]
    assert en[1].endswith("U1 2009: Official reception actual ¥20,500.00 exceeds the budget of ¥20,000.00 by ¥500.00 (2.5%)")
    assert en[2] == "1 red flag(s); details: sunshine flags show ID"
    none = CliRunner().invoke(root, ["--database", db_url, "--lang", "zh", "flags", "list", "--year", "1999"])
    assert none.output == "没有符合条件的风险标记\n"
    doc = json.loads(CliRunner().invoke(root, ["--database", db_url, "flags", "list", "--json"]).output)
    assert doc["flags"][0]["message_zh"].startswith("U1 2009年")


def test_import_summary_in_both_languages(engine, db_url, tmp_path):
    p = tmp_path / "预算.csv"
    p.write_text("unit_code,unit_name,fiscal_year,category,amount\nU1,财政局,2024,reception,1.5\n", encoding="utf-8")
    zh = CliRunner().invoke(root, ["--database", db_url, "import", "budgets", str(p), "--amount-unit", "万元",
                                   "--dry-run"]).output.splitlines()
    assert zh == ["预算.csv: 试导入：可以导入（未写入任何内容）",
                  "  编码 utf-8（整个文件是有效的 UTF-8），读取 1 行，导入 1 行，空行 0，合计行 0，暂缓 0，已在账本中 0",
                  "  预算 合计：15,000.00 CNY"]
    en = CliRunner().invoke(root, ["--database", db_url, "--lang", "en", "import", "budgets", str(p),
                                   "--amount-unit", "wan"]).output.splitlines()
    assert en == ["预算.csv: loaded as batch 1",
                  "  encoding utf-8 (the whole file is valid UTF-8), rows read 1, loaded 1, blank 0, total rows 0, held 0, "
                  "already in ledger 0",
                  "  budget total: 15,000.00 CNY",
                  "  Next: run sunshine check to check the targets and raise red flags"]


def test_help_names_the_language_option():
    out = CliRunner().invoke(root, ["--help"]).output
    assert "--lang [zh|en]" in out and "输出语言" in out


def test_review_refusals_in_both_languages(engine, db_url):
    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """)
    run(engine)
    flag_id = json.loads(CliRunner().invoke(root, ["--database", db_url, "flags", "list", "--json"]).output)["flags"][0]["id"]
    args = ["flags", "review", flag_id, "--to", "closed", "--note", "x", "--by", "纪委王某"]
    zh = CliRunner().invoke(root, ["--database", db_url, *args])
    assert zh.exit_code == 1
    assert zh.output == f"错误：风险标记 {flag_id[:12]} 当前状态为 open，不能转为 closed；下一步可转为：under_review\n"
    en = CliRunner().invoke(root, ["--database", db_url, "--lang", "en", *args])
    assert en.output == f"Error: flag {flag_id[:12]} is open; it cannot move to closed. Allowed next: under_review\n"
    missing = CliRunner().invoke(root, ["--database", db_url, "flags", "show", "000000"])
    assert missing.exit_code == 1 and "没有编号为 000000 的风险标记" in missing.output


def test_help_in_the_chosen_language():
    import os
    import subprocess

    from tests.import_support import SUNSHINE

    env = {k: v for k, v in os.environ.items() if k not in ("SUNSHINE_LANG", "LC_ALL", "LC_MESSAGES")} | {"LANG": "C.UTF-8"}
    zh = subprocess.run([SUNSHINE, "import", "--help"], capture_output=True, text=True, env=env).stdout
    assert "只检查并报告，不写入任何内容。" in zh and "列名未写单位时金额的单位：元、万元 或 亿元" in zh
    en = subprocess.run([SUNSHINE, "--lang", "en", "import", "--help"], capture_output=True, text=True, env=env).stdout
    assert "Validate and report; write nothing." in en and "只检查" not in en
    flags = subprocess.run([SUNSHINE, "flags", "review", "--help"], capture_output=True, text=True,
                           env=env | {"SUNSHINE_LANG": "zh"}).stdout
    assert "推进核查" in flags and "核查人姓名。" in flags


def test_details_that_are_keys_are_translated():
    assert render("header-not-found", None, "in-any-sheet") == (
        "找不到表头（所有工作表中都没有）（请对照模板检查表头）",
        "no header row found in any sheet (compare the headers with the template)")
    assert render("sheet-skipped", None, "empty-sheet") == ("跳过工作表：空表", "sheet skipped: empty")
    assert render("sheet-skipped", None, "Sheet3 odd") == ("跳过工作表：Sheet3 odd", "sheet skipped: Sheet3 odd")


def test_targets_output_in_both_languages(engine, db_url):
    from tests.conftest import ROOT

    policy = str(ROOT / "policies" / "changde-2009.toml")
    assert CliRunner().invoke(root, ["--database", db_url, "targets", "list"]).output.startswith("尚未载入目标")
    out = CliRunner().invoke(root, ["--database", db_url, "targets", "load", policy]).output
    assert out == "changde-2009.toml：新增 9 个目标，更新 0 个，未变 0 个；下一步：sunshine check\n"
    zh = CliRunner().invoke(root, ["--database", db_url, "targets", "list"]).output.splitlines()
    assert zh[0].split("\t") == ["编号", "口径", "类别", "基数", "变化", "年度", "范围", "标题"]
    assert any("\t预算数\tvehicle_purchase\t" in line for line in zh)
    en = CliRunner().invoke(root, ["--database", db_url, "--lang", "en", "targets", "list"]).output.splitlines()
    assert en[0].split("\t")[:3] == ["ID", "Measure", "Category"] and any("\tbudget\tvehicle_purchase\t" in x for x in en)


def test_every_command_and_option_has_chinese_help():
    """A clerk who reads no English finds every command and option explained in Chinese (click's own
    "Show this message and exit." aside)."""
    import re

    import click

    from cli.main import _command_modules

    def walk(cmd: click.Command, path: str):
        yield path, cmd.help or ""
        for p in cmd.params:
            if isinstance(p, click.Option) and p.help and p.name != "help":
                yield f"{path} {p.opts[0]}", p.help
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    ctx = click.Context(root)
    english_only = [where for name in _command_modules() for where, text in walk(root.get_command(ctx, name), name)
                    if not re.search(r"[\u4e00-\u9fff]", text)]
    assert english_only == []
