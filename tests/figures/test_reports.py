"""Disclosure reports with exact figures: procurement (the seed's 11.93 亿元), 三公 table, 四费, text and CSV."""

from decimal import Decimal as D

from ledger.read.published.report_text import report_table, report_text
from ledger.read.published.reports import four_fees, procurement, three_public
from tests.ledgertext import load_ledger, load_procurement

SEED_PROCUREMENT = """
    unit year project method                  budget  contract supplier date
    P1   2008 A-1     open_tender             8亿      7.61亿    甲公司    2008-05-01
    P1   2009 B-1     open_tender             10亿     8.80亿    甲公司    2009-05-01
    P2   2009 B-2     competitive_negotiation 2.52亿   2.33亿    乙公司    2009-06-01
    P2   2009 B-3     rfq                     1亿      0.80亿    丙公司    2009-07-01
"""


def test_seed_procurement_figures_come_out_of_real_records(engine):
    load_procurement(engine, SEED_PROCUREMENT)
    with engine.connect() as conn:
        r = procurement(conn, 2009)
    yi = 10**10  # fen in one 亿元
    assert (r["scale_fen"], r["prior_scale_fen"], r["growth_fen"]) == (1193 * yi // 100, 761 * yi // 100, 432 * yi // 100)
    assert r["growth_pct"] == D("56.77")  # 4.32 / 7.61; the seed rounds to 57%
    assert (r["budget_total_fen"], r["savings_fen"]) == (1352 * yi // 100, 159 * yi // 100)
    assert r["savings_rate_pct"] == D("11.76")  # 1.59 / 13.52; the seed says 11.78% within its rounding
    assert r["savings_rate_definition"].startswith("savings ÷ budget amount")
    assert [(m["method"], m["scale_fen"], m["savings_rate_pct"], m["share_pct"]) for m in r["by_method"]] == [
        ("open_tender", 880 * yi // 100, D("12.00"), D("73.76")),
        ("competitive_negotiation", 233 * yi // 100, D("7.54"), D("19.53")),
        ("rfq", 80 * yi // 100, D("20.00"), D("6.71")),
    ]
    assert report_text(r) == (
        "2009年政府采购规模11.93亿元（合同金额合计，3项），比上年增加4.32亿元，增长56.8%；采购预算13.52亿元，"
        "节约预算资金1.59亿元，资金节约率11.76%（节约率＝节约资金÷采购预算）。"
        "按采购方式：公开招标8.80亿元（73.76%），竞争性谈判2.33亿元（19.53%），询价0.80亿元（6.71%）。"
    )
    assert report_text(r, "en") == (
        "2009: government procurement of CNY 1,193.00 million (contract values, 3 records), up CNY 432.00 million "
        "(56.8%) on the year before; procurement budgets CNY 1,352.00 million, saved CNY 159.00 million, a savings "
        "rate of 11.76% (savings ÷ procurement budget). By method: open tender CNY 880.00 million (73.76%), "
        "competitive negotiation CNY 233.00 million (19.53%), request for quotation CNY 80.00 million (6.71%)."
    )
    header, rows = report_table(r)
    assert header[:4] == ["fiscal_year", "unit", "method", "name_zh"] and len(rows) == 4
    assert rows[-1][2:4] == ["total", "合计"]
    with engine.connect() as conn:
        one = procurement(conn, 2009, unit="P2")
    assert (one["scale_fen"], one["prior_scale_fen"], one["growth_pct"]) == (313 * yi // 100, None, None)
    assert "上年无数据" in report_text(one)


THREE_PUBLIC = """
    unit year category          budget actual batches persons vehicles
    A    2008 overseas_travel   50000  50000  -       -       -
    A    2008 vehicle_operation 60000  58000  -       -       12
    A    2008 reception         25000  23300  -       -       -
    A    2009 overseas_travel   50000  40000  2       6       -
    A    2009 vehicle_purchase  200000 180000 -       -       1
    A    2009 vehicle_operation 60000  61000  -       -       13
    A    2009 reception         25000  20500  3       15      -
    B    2009 reception         1000   900    -       -       -
"""


def test_three_public_table_in_the_standard_layout(engine):
    load_ledger(engine, THREE_PUBLIC)
    with engine.connect() as conn:
        r = three_public(conn, 2009)
    a = r["rows"][0]
    assert (a["unit_code"], [i["name_zh"] for i in a["items"]]) == ("A", [
        "合计", "因公出国(境)费", "公务用车购置及运行维护费", "公务用车购置费", "公务用车运行维护费", "公务接待费"])
    got = [(i["budget_fen"], i["actual_fen"], i["completion_pct"], i["prior_actual_fen"], i["change_fen"], i["change_pct"])
           for i in a["items"]]
    assert got == [
        (33500000, 30150000, D("90.00"), 13130000, 17020000, D("129.63")),
        (5000000, 4000000, D("80.00"), 5000000, -1000000, D("-20.00")),
        (26000000, 24100000, D("92.69"), 5800000, 18300000, D("315.52")),
        (20000000, 18000000, D("90.00"), None, None, None),  # no prior-year figure: missing, not zero
        (6000000, 6100000, D("101.67"), 5800000, 300000, D("5.17")),
        (2500000, 2050000, D("82.00"), 2330000, -280000, D("-12.02")),
    ]
    assert a["counts"] == {"overseas_groups": 2, "overseas_persons": 6, "vehicles_purchased": 1, "vehicles_held": 13,
                           "reception_batches": 3, "reception_persons": 15}
    b = r["rows"][1]
    assert b["items"][-1]["prior_actual_fen"] is None and b["items"][-1]["change_pct"] is None
    assert r["total"]["items"][-1]["actual_fen"] == 2140000
    text = report_text(r).splitlines()
    assert text[0] == (
        "A2009年“三公”经费支出30.15万元，比上年增加17.02万元，增长129.6%。其中：因公出国(境)费支出4.00万元，"
        "比上年减少1.00万元，下降20.0%，组团2个、6人次；公务用车购置及运行维护费支出24.10万元，比上年增加18.30万元，"
        "增长315.5%（其中：公务用车购置费支出18.00万元，上年无数据，购置车辆1辆；"
        "公务用车运行维护费支出6.10万元，比上年增加0.30万元，增长5.2%，年末保有量13辆）；"
        "公务接待费支出2.05万元，比上年减少0.28万元，下降12.0%，接待3批次、15人次。"
    )
    assert text[1].startswith("B2009年“三公”经费支出0.09万元，上年无数据。")
    english = report_text(r, "en").splitlines()
    assert english[0] == (
        "A, 2009: the “three public expenses” were CNY 301,500.00, up CNY 170,200.00 (129.6%) on the year before. "
        "Of these: Overseas travel CNY 40,000.00, down CNY 10,000.00 (20.0%) on the year before, 2 delegation(s), "
        "6 person-trips; Official vehicles (purchase and operation) CNY 241,000.00, up CNY 183,000.00 (315.5%) on "
        "the year before (of which: Vehicle purchase CNY 180,000.00, no figure for the year before, 1 vehicle(s) "
        "bought; Vehicle operation CNY 61,000.00, up CNY 3,000.00 (5.2%) on the year before, 13 vehicle(s) held at "
        "year end); Official reception CNY 20,500.00, down CNY 2,800.00 (12.0%) on the year before, 3 reception(s), "
        "15 guest visits."
    )
    assert english[1].startswith("B, 2009: the “three public expenses” were CNY 900.00, no figure for the year "
                                 "before.")
    header, rows = report_table(r)
    assert len(rows) == 18 and header[-1] == "reception_persons"


def test_four_fees_per_unit(engine):
    load_ledger(engine, """
        unit year category   budget actual
        A    2008 meeting    -      1000
        A    2009 meeting    2000   1000
        A    2009 transport  -      300
        A    2009 reception  -      200
        A    2009 study_tour -      0
        A    2009 training   -      999
    """)
    with engine.connect() as conn:
        r = four_fees(conn, 2009, unit="A")
    [a] = r["rows"]
    assert [(i["item"], i["budget_fen"], i["actual_fen"], i["prior_actual_fen"]) for i in a["items"]] == [
        ("total", 200000, 150000, 100000), ("reception", None, 20000, None), ("meeting", 200000, 100000, 100000),
        ("study_tour", None, 0, None), ("transport", None, 30000, None),
    ]  # what was not published is missing, never zero
    assert [i["basis"]["final"] for i in a["items"]] == ["derived", "derived", "derived", "derived", "derived"]
    assert report_text(r) == (
        "A2009年“四费”支出0.15万元，比上年增加0.05万元，增长50.0%。其中：接待费支出0.02万元，上年无数据；"
        "会议费支出0.10万元，与上年持平；学习考察费支出0.00万元，上年无数据；交通费支出0.03万元，上年无数据。"
    )
    assert report_text(r, "en") == (
        "A, 2009: the “four fees” were CNY 1,500.00, up CNY 500.00 (50.0%) on the year before. Of these: Official "
        "reception CNY 200.00, no figure for the year before; Meetings CNY 1,000.00, unchanged from the year before; "
        "Study tours CNY 0.00, no figure for the year before; Official transport CNY 300.00, no figure for the year "
        "before."
    )
