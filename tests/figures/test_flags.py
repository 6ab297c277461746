"""Every red flag with its exact figures and sentences; stable ids; resolution by data, never deletion."""

from sqlalchemy import func, select

from ledger.rules.flags import get_flag, list_flags
from ledger.rules.registry import flag_id
from ledger.store.models import Flag
from tests.ledgertext import load_consumption, load_ledger, load_policy, load_procurement, run, target_toml


def flags(engine, rule=None, **kw):
    with engine.connect() as conn:
        return list_flags(conn, rule_code=rule, **kw)


def test_budget_overrun_is_per_category_even_when_the_total_is_within_budget(engine):
    load_ledger(engine, """
        unit year category  budget adjusted actual
        U1   2009 reception 20000  -        20500
        U1   2009 meeting   10000  -        5000
        U2   2009 reception 20000  21000    20500
        U3   2009 transport 0      -        300
        U4   2009 meeting   100    -        100
    """)
    run(engine)
    got = flags(engine, "budget_overrun")
    assert [(f["unit_code"], f["category_code"], f["figures"]) for f in got] == [
        ("U1", "reception", {"actual_fen": 2050000, "budget_fen": 2000000, "budget_stage": "original",
                             "excess_fen": 50000, "excess_pct": "2.5"}),
        ("U3", "transport", {"actual_fen": 30000, "budget_fen": 0, "budget_stage": "original",
                             "excess_fen": 30000, "excess_pct": None}),
    ]
    u1 = got[0]
    assert u1["message_zh"] == "U1 2009年：公务接待费决算数2.05万元，超出预算数0.05万元（2.5%）"
    assert u1["message_en"] == ("U1 2009: Official reception actual ¥20,500.00 exceeds the budget of ¥20,000.00 "
                                "by ¥500.00 (2.5%)")
    assert got[1]["message_zh"] == "U3 2009年：交通费决算数0.03万元，超出预算数0.03万元（预算数为零）"
    assert (u1["rule_code"], u1["rule_version"], u1["state"], u1["data_status"]) == ("budget_overrun", 1, "open", "active")
    assert u1["threshold"] == {"min_excess_pct": 0, "min_excess_yuan": 0}
    assert "预算法" in u1["policy_ref"] and len(u1["evidence"]["batch_ids"]) == 1
    assert u1["id"] == flag_id("budget_overrun", ("U1", "2009", "reception"))


def test_budget_overrun_thresholds_come_from_configuration(engine):
    from tests.ledgertext import CONFIG

    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
        U2   2009 reception 20000  21000.01
    """)
    config = {**CONFIG, "budget_overrun": {"min_excess_pct": 5, "min_excess_yuan": 0}}
    run(engine, config=config)
    assert [f["unit_code"] for f in flags(engine, "budget_overrun")] == ["U2"]


def test_target_missed_explains_itself(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "reception-cut-20", title="公务接待经费实际支出压减20%以上", source_document="常德 2009",
        measure="actual", category="reception", baseline="prior_year", change_pct=-20, year_from=2009))
    load_ledger(engine, """
        unit year category  budget actual
        U1   2008 reception -      25000
        U1   2009 reception -      20500
        U2   2008 reception -      25000
        U2   2009 reception -      20000
    """)
    run(engine)
    [f] = flags(engine, "target_missed")
    assert f["unit_code"] == "U1"
    assert f["figures"]["value"] == 2050000 and f["figures"]["cap"] == 2000000 and f["figures"]["excess"] == 50000
    assert f["message_zh"] == ("U1 2009年：未完成“公务接待经费实际支出压减20%以上”，决算数2.05万元，上限2.00万元"
                               "（基数：2008年决算数2.50万元，-20%），超出0.05万元（2.5%）")
    assert f["message_en"] == ("U1 2009: target reception-cut-20 missed: actual (final accounts) 2.05万元 above the cap "
                               "2.00万元 (baseline: actual (final accounts) 2008 2.50万元, -20%) by 0.05万元 (2.5%)")
    assert f["policy_ref"] == "常德 2009：公务接待经费实际支出压减20%以上"
    assert f["threshold"] == {"target_id": "reception-cut-20", "baseline": "prior_year", "change_pct": "-20"}
    assert f["evidence"]["target_result_id"] > 0 and len(f["evidence"]["batch_ids"]) == 1


def test_target_missed_on_consumption_speaks_in_its_unit(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "power", title="节电指标降低5%以上", source_document="常德 2009", measure="consumption",
        resource="electricity", baseline="prior_year", change_pct=-5, year_from=2009))
    load_consumption(engine, """
        unit year resource    quantity
        A    2008 electricity 10000
        A    2009 electricity 9600.5
    """)
    run(engine)
    [f] = flags(engine, "target_missed")
    assert f["figures"]["measure_unit"] == "kWh" and f["figures"]["excess"] == 100500
    assert f["message_zh"] == ("A 2009年：未完成“节电指标降低5%以上”，用量9600.5 kWh，上限9500 kWh（基数：2008年用量10000 kWh，-5%），"
                               "超出100.5 kWh（1.1%）")


def test_procurement_over_budget(engine):
    load_procurement(engine, """
        unit year project method      budget  contract supplier date
        P1   2009 CG-001  open_tender 1000000 1050000  甲公司   2009-03-01
        P1   2009 CG-002  open_tender 1000000 1000000  乙公司   2009-04-01
    """)
    run(engine)
    [f] = flags(engine, "procurement_over_budget")
    assert f["figures"] == {"contract_fen": 105000000, "budget_fen": 100000000, "excess_fen": 5000000, "excess_pct": "5.0"}
    assert f["message_zh"] == "P1 2009年：采购项目“CG-001”合同金额105.00万元，超出预算5.00万元（5.0%）"
    assert f["evidence"]["procurement_record_ids"] and f["id"] == flag_id("procurement_over_budget", ("P1", "CG-001"))


def test_single_source_award_and_share(engine):
    load_procurement(engine, """
        unit year project method        budget  contract supplier date
        P1   2009 SS-1    single_source 1200000 1200000  甲公司   2009-03-01
        P1   2009 OT-1    open_tender   2000000 1800000  乙公司   2009-04-01
        P2   2009 SS-2    single_source 1000000 1000000  丙公司   2009-04-01
        P2   2009 OT-2    open_tender   9000000 9000000  丁公司   2009-04-01
    """)
    run(engine)
    got = flags(engine, "single_source")
    assert [(f["unit_code"], f["figures"]["kind"]) for f in got] == [("P1", "award"), ("P1", "share")]
    award, share = got
    assert award["message_zh"] == "P1 2009年：采购项目“SS-1”以单一来源方式授予甲公司，合同金额120.00万元，超过100.00万元"
    assert share["figures"] == {"kind": "share", "single_source_fen": 120000000, "total_fen": 300000000, "share_pct": "40.0"}
    assert share["message_zh"] == "P1 2009年：单一来源采购120.00万元，占采购合同总额300.00万元的40.0%，超过30%"


def test_split_purchase_within_the_window(engine):
    load_procurement(engine, """
        unit year project method supplier budget contract date
        S    2009 A1      rfq    甲公司    400000 400000   2009-01-10
        S    2009 A2      rfq    甲公司    400000 400000   2009-02-10
        S    2009 A3      rfq    甲公司    400000 400000   2009-03-10
        S    2009 B1      rfq    乙公司    600000 600000   2009-01-01
        S    2009 B2      rfq    乙公司    600000 600000   2009-06-01
        S    2009 C1      open_tender 丙公司 2000000 2000000 2009-01-05
    """)
    run(engine)
    [f] = flags(engine, "split_purchase")
    assert f["figures"] == {"supplier": "甲公司", "purchases": 3, "total_fen": 120000000,
                            "first_date": "2009-01-10", "last_date": "2009-03-10"}
    assert f["message_zh"] == ("S 2009年：2009-01-10至2009-03-10向“甲公司”采购3次，每次低于公开招标数额标准100.00万元，"
                               "合计120.00万元，疑似拆分采购规避招标")
    assert len(f["evidence"]["procurement_record_ids"]) == 3


def test_supplier_concentration(engine):
    load_procurement(engine, """
        unit year project method      supplier budget  contract date
        C    2009 X1      open_tender 甲公司    1200000 1200000  2009-01-10
        C    2009 X2      open_tender 乙公司    400000  400000   2009-05-10
        D    2009 Y1      open_tender 甲公司    500000  500000   2009-05-10
        D    2009 Y2      open_tender 乙公司    500000  500000   2009-05-10
    """)
    run(engine)
    [f] = flags(engine, "supplier_concentration")
    assert (f["unit_code"], f["figures"]["share_pct"], f["figures"]["unit_total_fen"]) == ("C", "75.0", 160000000)
    assert f["message_zh"] == "C 2009年：供应商“甲公司”获得采购合同120.00万元，占该单位合同总额160.00万元的75.0%，超过50%"


def test_duplicate_payment(engine):
    load_ledger(engine, """
        unit year category  budget actual  payee   date       voucher
        U1   2009 reception -      1234.50 某酒店   2009-05-01 V1
        U1   2009 reception -      1234.50 某酒店   2009-05-01 V2
        U1   2009 reception -      1234.50 某酒店   2009-05-02 V3
        U2   2009 reception -      1234.50 某酒店   2009-05-01 V4
    """)
    run(engine)
    [f] = flags(engine, "duplicate_payment")
    assert f["figures"] == {"payee": "某酒店", "amount_fen": 123450, "date": "2009-05-01", "times": 2,
                            "total_fen": 246900, "voucher_nos": ["V1", "V2"]}
    assert f["message_zh"] == "U1 2009-05-01向“某酒店”支付1,234.50元共2次（公务接待费），疑似重复支付"
    assert len(f["evidence"]["expense_entry_ids"]) == 2


def test_duplicate_payment_across_batches_and_after_a_correction(engine):
    # the same payment in two batches is a duplicate; a correction of one batch can remove or keep it
    first = load_ledger(engine, """
        unit year category  budget actual  payee   date       voucher
        U1   2009 reception -      500     某酒店   2009-05-01 V1
        U2   2009 meeting   -      800     某会场   2009-06-01 W1
        U2   2009 meeting   -      800     某会场   2009-06-01 W2
    """)
    load_ledger(engine, """
        unit year category  budget actual  payee   date       voucher
        U1   2009 reception -      500     某酒店   2009-05-01 V9
        U3   2008 transport -      100     某公司   2008-01-01 X1
    """)
    run(engine)
    got = {f["unit_code"]: f for f in flags(engine, "duplicate_payment")}
    assert {u: f["figures"]["voucher_nos"] for u, f in got.items()} == {"U1": ["V1", "V9"], "U2": ["W1", "W2"]}
    assert len(got["U1"]["evidence"]["batch_ids"]) == 2
    # the first batch corrected: V1 is gone (U1 paid once), U2's payment now appears three times
    load_ledger(engine, """
        unit year category  budget actual  payee   date       voucher
        U2   2009 meeting   -      800     某会场   2009-06-01 W1
        U2   2009 meeting   -      800     某会场   2009-06-01 W2
        U2   2009 meeting   -      800     某会场   2009-06-01 W3
    """, supersedes=first)
    run(engine)
    active = flags(engine, "duplicate_payment", data_status="active")
    assert [(f["unit_code"], f["figures"]["times"], f["figures"]["voucher_nos"]) for f in active] == [
        ("U2", 3, ["W1", "W2", "W3"])]
    assert [f["unit_code"] for f in flags(engine, "duplicate_payment", data_status="resolved_by_data")] == ["U1"]
    # a later batch repeating a payment of a batch published earlier is found from its own publish
    load_ledger(engine, """
        unit year category  budget actual  payee   date       voucher
        U3   2008 transport -      100     某公司   2008-01-01 X2
    """)
    run(engine)
    assert sorted(f["unit_code"] for f in flags(engine, "duplicate_payment", data_status="active")) == ["U2", "U3"]


def test_per_capita_excess(engine):
    load_ledger(engine, """
        unit year category  budget actual persons
        U1   2009 reception -      2000   10
        U1   2009 reception -      1000   5
        U2   2009 reception -      1500   10
        U3   2009 reception -      9999   -
    """)
    run(engine)
    [f] = flags(engine, "per_capita_excess")
    assert f["figures"] == {"amount_fen": 300000, "persons": 15, "per_person_fen": 20000, "standard_fen": 15000,
                            "excess_per_person_fen": 5000, "entries": 2}
    assert f["message_zh"] == "U1 2009年：公务接待费0.30万元、接待15人次，人均200.00元，超过标准150.00元/人次"


def test_rerun_keeps_ids_and_a_correction_resolves_by_data(engine):
    first = load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """)
    run(engine)
    [f] = flags(engine)
    s = run(engine)
    assert s.reused
    fixed = load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  19000
    """, supersedes=first)
    s = run(engine)
    assert s.flags["resolved"] == 1 and s.flags["new"] == 0
    [g] = flags(engine)
    assert (g["id"], g["data_status"], g["state"]) == (f["id"], "resolved_by_data", "open")
    assert g["resolved_at"] is not None
    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20600
    """, supersedes=fixed)
    s = run(engine)
    assert s.flags["reactivated"] == 1
    [h] = flags(engine)
    assert (h["id"], h["data_status"], h["figures"]["actual_fen"]) == (f["id"], "active", 2060000)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Flag)).scalar() == 1
        assert get_flag(conn, f["id"][:8])["id"] == f["id"]


def test_a_correction_moving_a_record_to_another_year_keeps_its_flag(engine):
    first = load_procurement(engine, """
        unit year project method      budget  contract supplier date
        P1   2008 CG-9    open_tender 1000000 1100000  甲公司   2008-12-30
    """)
    run(engine)
    load_procurement(engine, """
        unit year project method      budget  contract supplier date
        P1   2009 CG-9    open_tender 1000000 1100000  甲公司   2009-01-02
    """, supersedes=first)
    s = run(engine, year=2009)
    assert s.flags["new"] == 0
    [f] = flags(engine, "procurement_over_budget")
    assert (f["fiscal_year"], f["data_status"], f["id"]) == (2009, "active", flag_id("procurement_over_budget", ("P1", "CG-9")))


def test_budget_target_names_the_budget_measure(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "vehicle-budget-cut-25", title="预算安排的公务用车购置费用压减25%", source_document="常德 2009",
        measure="budget", category="vehicle_purchase", baseline="prior_year", change_pct=-25, year_from=2009))
    load_ledger(engine, """
        unit year category         budget actual
        U1   2008 vehicle_purchase 360000 -
        U1   2009 vehicle_purchase 280000 -
    """)
    run(engine)
    [f] = flags(engine, "target_missed")
    assert f["message_zh"] == ("U1 2009年：未完成“预算安排的公务用车购置费用压减25%”，预算数28.00万元，上限27.00万元"
                               "（基数：2008年预算数36.00万元，-25%），超出1.00万元（3.7%）")
    assert f["message_en"] == ("U1 2009: target vehicle-budget-cut-25 missed: budget 28.00万元 above the cap 27.00万元 "
                               "(baseline: budget 2008 36.00万元, -25%) by 1.00万元 (3.7%)")
    assert "实际" not in f["message_zh"] and "决算" not in f["message_zh"]


def test_mean_baseline_names_its_years(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "overseas-cut-20", title="因公出国(境)经费支出在近3年平均数基础上压减20%", source_document="常德 2009",
        measure="actual", category="overseas_travel", baseline="mean_prior_years:3", change_pct=-20, year_from=2009))
    load_ledger(engine, """
        unit year category        budget actual
        U1   2006 overseas_travel -      100000
        U1   2007 overseas_travel -      200000
        U1   2008 overseas_travel -      300000
        U1   2009 overseas_travel -      170000
    """)
    run(engine)
    [f] = flags(engine, "target_missed")
    assert "决算数17.00万元，上限16.00万元（基数：2006–2008年平均决算数20.00万元，-20%）" in f["message_zh"]
