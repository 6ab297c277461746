"""Flags raised column-wise (issue 15) say exactly what a flag built one by one in Python said.

The vectorised formatting is compared with ``ledger.money`` / ``pct`` / ``json.dumps`` over thousands of
values; then a seeded ledger of a few hundred rows is checked and every ``budget_overrun``,
``procurement_over_budget``, ``supplier_concentration`` and ``target_missed`` flag is compared, field by
field, with a straightforward reference computed here from the rows the test wrote.
"""

import json
import random
from decimal import Decimal

import polars as pl

from ledger.i18n import both
from ledger.money import format_amount, format_amount_expr, format_wan, format_yuan
from ledger.rules.flags import list_flags
from ledger.rules.registry import flag_id, j_list, j_num, j_obj, j_str, pct, pct_expr
from tests.ledgertext import load_ledger, load_policy, load_procurement, run, target_toml


def test_vectorised_formatting_is_the_python_formatting():
    rng = random.Random(15)
    vals = [0, 1, -1, 5, -5, 49, 50, -50, 4999, 5000, 999999, 10**15, None]
    vals += [rng.randint(-10**13, 10**13) for _ in range(3000)] + [rng.randint(-10**5, 10**5) for _ in range(3000)]
    df = pl.DataFrame({"v": vals}, schema={"v": pl.Int64})
    for unit, places, grouping in (("yuan", 2, True), ("wan", 2, False), ("yi", 2, True), ("wan", 0, True)):
        got = df.select(format_amount_expr(pl.col("v"), unit, places, grouping)).to_series().to_list()
        assert got == [None if v is None else format_amount(v, unit, places, grouping) for v in vals]
    pairs = [(rng.randint(-10**9, 10**9), rng.choice([0, -3, 7, rng.randint(-10**9, 10**9)])) for _ in range(3000)]
    pairs += [(-1, 100000), (0, 5), (1, 3), (2, 3), (1, 0)]
    nd = pl.DataFrame(pairs, schema=["n", "d"], orient="row")
    assert nd.select(pct_expr(pl.col("n"), pl.col("d"))).to_series().to_list() == [pct(n, d) for n, d in pairs]
    texts = ['a"b\\c\n\td\x01\x1f\x08\x0c\r', "中文“引号”", "", None]
    frame = pl.DataFrame({"s": texts, "n": [1, None, -2, 3], "l": [[3, 1], [], None, [7]]})
    got = frame.select(j_obj(s=j_str(pl.col("s")), n=j_num(pl.col("n")), l=j_list(pl.col("l")))).to_series().to_list()
    assert got == [json.dumps({"s": s, "n": n, "l": v}, ensure_ascii=False, sort_keys=True)
                   for s, n, v in zip(texts, [1, None, -2, 3], [[3, 1], [], None, [7]], strict=True)]


def _ledger(rng: random.Random) -> tuple[str, dict]:
    """A text ledger: 30 units × 2 years × 3 categories, budget and actual in 元 (some over, some zero)."""
    lines, amounts = ["unit year category budget actual"], {}
    for u in range(1, 31):
        for year in (2008, 2009):
            for cat in ("reception", "meeting", "training"):
                budget = rng.choice([0, rng.randint(100, 90000)])
                actual = rng.randint(100, 100000) if rng.random() < 0.9 else budget
                cents = rng.randint(0, 99)
                lines.append(f"U{u:02d} {year} {cat} {budget} {actual}.{cents:02d}")
                amounts[(f"U{u:02d}", year, cat)] = (budget * 100, actual * 100 + cents)
    return "\n".join(lines), amounts


def _procurement(rng: random.Random) -> tuple[str, list]:
    lines, recs = ["project unit year title method budget contract supplier date"], []
    for i in range(200):
        unit, year = f"U{rng.randint(1, 30):02d}", rng.choice((2008, 2009))
        budget = rng.randint(1000, 3_000_000)
        contract = max(1, budget + rng.randint(-50_000, 50_000))
        title = rng.choice(['买"桌子"', "维修\\服务", "服务采购", "车辆"]) + str(i)
        supplier = rng.choice(["甲公司", 'B"Co', "丙\\厂"])
        lines.append(f"P{i:04d} {unit} {year} {title} open_tender {budget} {contract} {supplier} {year}-05-0{i % 9 + 1}")
        recs.append((i + 2, f"P{i:04d}", unit, year, title, budget * 100, contract * 100, supplier))
    return "\n".join(lines), recs


def test_a_generated_ledger_raises_the_reference_flags(engine, tmp_path):
    rng = random.Random(2009)
    text, amounts = _ledger(rng)
    load_ledger(engine, text)
    ptext, recs = _procurement(rng)
    load_procurement(engine, ptext)
    load_policy(engine, tmp_path, target_toml("meet", measure="actual", category="meeting", baseline="prior_year",
                                             change_pct=-10, year_from=2009, title="会议费压减10%"))
    run(engine)
    with engine.connect() as conn:
        got = {f["id"]: f for f in list_flags(conn)}
        ids = {r.project_code: r.id for r in conn.exec_driver_sql(
            "SELECT project_code, id FROM procurement_record").mappings()}
    expected = {}
    names = {"reception": ("公务接待费", "Official reception"), "meeting": ("会议费", "Meetings"),
             "training": ("培训费", "Training")}
    for (unit, year, cat), (budget, actual) in amounts.items():
        excess = actual - budget
        if excess > 0:
            p = pct(excess, budget)
            zh, en = names[cat]
            expected[flag_id("budget_overrun", (unit, str(year), cat))] = (
                {"actual_fen": actual, "budget_fen": budget, "budget_stage": "original", "excess_fen": excess,
                 "excess_pct": p},
                f"{unit} {year}年：{zh}决算数{format_wan(actual, grouping=False)}万元，超出预算数"
                f"{format_wan(excess, grouping=False)}万元（{p + '%' if p is not None else '预算数为零'}）",
                f"{unit} {year}: {en} actual ¥{format_yuan(actual)} exceeds the budget of ¥{format_yuan(budget)} by "
                f"¥{format_yuan(excess)} ({p + '%' if p is not None else 'the budget is zero'})")
    for _row, project, unit, year, title, budget, contract, _supplier in recs:
        if contract > budget:
            p, excess = pct(contract - budget, budget), contract - budget
            expected[flag_id("procurement_over_budget", (unit, project))] = (
                {"contract_fen": contract, "budget_fen": budget, "excess_fen": excess, "excess_pct": p},
                f"{unit} {year}年：采购项目“{title}”合同金额{format_wan(contract, grouping=False)}万元，"
                f"超出预算{format_wan(excess, grouping=False)}万元（{p}%）",
                f'{unit} {year}: procurement "{title}" contract ¥{format_yuan(contract)} exceeds its budget of '
                f"¥{format_yuan(budget)} by ¥{format_yuan(excess)} ({p}%)")
    by_unit: dict = {}
    for _row, project, unit, year, _title, _budget, contract, supplier in recs:
        by_unit.setdefault((unit, year), {}).setdefault(supplier, []).append((contract, project))
    for (unit, year), suppliers in by_unit.items():
        total = sum(c for rs in suppliers.values() for c, _ in rs)
        for supplier, rs in suppliers.items():
            amount = sum(c for c, _ in rs)
            if total >= 100_000_000 and amount * 100 > total * 50 and len(suppliers) >= 2:
                p = pct(amount, total)
                expected[flag_id("supplier_concentration", (unit, str(year), supplier))] = (
                    {"supplier": supplier, "supplier_fen": amount, "unit_total_fen": total, "share_pct": p,
                     "contracts": len(rs), "suppliers": len(suppliers)},
                    f"{unit} {year}年：供应商“{supplier}”获得采购合同{format_wan(amount, grouping=False)}万元，"
                    f"占该单位合同总额{format_wan(total, grouping=False)}万元的{p}%，超过50%",
                    f'{unit} {year}: supplier "{supplier}" won ¥{format_yuan(amount)}, {p}% of the unit\'s '
                    f"¥{format_yuan(total)} contracted, above 50%")
    mzh, men = both("measure.actual")
    for u in range(1, 31):
        unit = f"U{u:02d}"
        base, value = amounts[(unit, 2008, "meeting")][1], amounts[(unit, 2009, "meeting")][1]
        cap = base * 9000 // 10000
        if value > cap:
            h = (2 * (value - cap) * 10000 + cap) // (2 * cap)  # hundredths of a percent, half up
            p = str((Decimal(h) / 100).quantize(Decimal("0.1"), "ROUND_HALF_UP"))
            show = {k: f"{format_wan(v, grouping=False)}万元" for k, v in
                    (("value", value), ("cap", cap), ("base", base), ("excess", value - cap))}
            expected[flag_id("target_missed", ("meet", unit, "2009"))] = (
                {"value": value, "cap": cap, "baseline": base, "excess": value - cap, "excess_pct": p,
                 "measure_unit": "fen", "baseline_years": [2008]},
                f"{unit} 2009年：未完成“会议费压减10%”，{mzh}{show['value']}，上限{show['cap']}（基数：2008年{mzh}"
                f"{show['base']}，-10%），超出{show['excess']}（{p}%）",
                f"{unit} 2009: target meet missed: {men} {show['value']} above the cap {show['cap']} (baseline: "
                f"{men} 2008 {show['base']}, -10%) by {show['excess']} ({p}%)")
    mine = {fid: f for fid, f in got.items()
            if f["rule_code"] in ("budget_overrun", "procurement_over_budget", "supplier_concentration", "target_missed")}

    assert set(mine) == set(expected) and len(expected) > 100
    assert {f["rule_code"] for f in mine.values()} == {"budget_overrun", "procurement_over_budget",
                                                       "supplier_concentration", "target_missed"}
    for fid, (figures, zh, en) in expected.items():
        f = got[fid]
        assert (f["figures"], f["message_zh"], f["message_en"]) == (figures, zh, en), f["rule_code"]
    for _row, project, unit, *_rest in recs:
        fid = flag_id("procurement_over_budget", (unit, project))
        if fid in got:
            assert got[fid]["evidence"]["procurement_record_ids"] == [ids[project]]
