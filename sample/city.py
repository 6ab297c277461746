"""The deterministic sample city: spending line items, budgets and the district disclosure table.

``make_city(seed)`` returns a ``City`` (plain records, money in integer fen). ``sample.write``
turns it into the files of the agreed formats; ``sample.procurement`` adds procurement and OCDS.
Everything comes from one ``random.Random(seed)``, so the same seed gives the same bytes.

The city is normal by construction (every category within budget, reception under 150 元 per
person, 2009 meets the Changde 2009 cuts) and then the cases in ``PLANTED`` are planted on top;
``sample/README.md`` lists them. Fiscal years are 2005-2009 because the Changde policy
(``policies/changde-2009.toml``) sets targets for 2009 against 2008 and 2006-2008.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from sample.units import YEARS, Unit, all_units, city_units, district_units

SEED = 2024
CATEGORIES = ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception", "meeting",
              "study_tour", "transport", "training", "other"]
CATEGORY_ZH = {"overseas_travel": "因公出国(境)费", "vehicle_purchase": "公务用车购置费",
               "vehicle_operation": "公务用车运行维护费", "reception": "公务接待费", "meeting": "会议费",
               "study_tour": "学习考察费", "transport": "交通费", "training": "培训费", "other": "其他"}
OFFICIAL = CATEGORIES[:-1]  # the "official" group: every category but other
THREE_PUBLIC = ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"]
BASE_YUAN = {"overseas_travel": 120_000, "vehicle_purchase": 180_000, "vehicle_operation": 150_000,
             "reception": 80_000, "meeting": 60_000, "study_tour": 40_000, "transport": 50_000,
             "training": 70_000, "other": 30_000}
PAYEES = {
    "overseas_travel": ["中国国际旅行社阳光分社", "阳光市外事服务中心", "中国南方航空公司"],
    "vehicle_purchase": ["阳光市汽车贸易有限公司", "湘南一汽大众销售服务有限公司"],
    "vehicle_operation": ["中国石化阳光分公司", "阳光市公务车辆维修中心", "平安财产保险阳光支公司"],
    "reception": ["阳光宾馆", "湘江大酒店", "市机关第一食堂", "芙蓉山庄"],
    "meeting": ["阳光宾馆", "市会议中心", "阳光国际会展中心"],
    "study_tour": ["阳光市青年旅行社", "湖南省干部培训中心"],
    "transport": ["阳光市公共交通集团", "阳光出租汽车公司", "中国铁路长沙局"],
    "training": ["阳光市行政学院", "湖南省干部培训中心", "阳光职业技术学院"],
    "other": ["阳光市文印中心", "中国邮政阳光分公司", "阳光市办公用品公司"],
}
YUAN = 100  # fen per 元
WAN = 10_000 * YUAN


def y(amount_yuan: int) -> int:
    """元 to fen, for the planted figures written below in 元."""
    return amount_yuan * YUAN


# What the generator plants, keyed by case. Figures in fen. The test and the README cite these.
PLANTED = {
    "target_met_reception": {"unit": "101002", "year": 2009, "category": "reception",
                             "actual": {2008: y(80_000), 2009: y(60_000)}},
    "target_missed_reception": {"unit": "101005", "year": 2009, "category": "reception",
                                "actual": {2008: y(100_000), 2009: y(90_000)}},
    "target_missed_meeting": {"unit": "101006", "year": 2009, "category": "meeting",
                              "actual": {2008: y(50_000), 2009: y(56_000)}},
    "target_missed_overseas_travel": {"unit": "101007", "year": 2009, "category": "overseas_travel",
                                      "actual": {2006: y(150_000), 2007: y(180_000), 2008: y(210_000),
                                                 2009: y(160_000)}},
    "target_missed_vehicle_purchase_budget": {"unit": "101008", "year": 2009, "category": "vehicle_purchase",
                                              "budget": {2008: y(300_000), 2009: y(270_000)},
                                              "actual": {2008: y(280_000), 2009: y(250_000)}},
    "target_missed_study_training": {"unit": "101009", "year": 2009, "group": "study_training",
                                     "actual": {2008: {"study_tour": y(40_000), "training": y(60_000)},
                                                2009: {"study_tour": y(45_000), "training": y(50_000)}}},
    "target_missed_official": {"unit": "101010", "year": 2009, "group": "official",
                               "extra_transport_2009": y(500_000)},
    "insufficient_new_unit": {"unit": "101027", "year": 2009, "since": 2009},
    "insufficient_overseas_mean": {"unit": "101028", "year": 2009, "since": 2007},
    "budget_overrun": {"unit": "101011", "year": 2008, "category": "meeting",
                       "actual": y(62_000), "budget": y(50_000)},
    "per_capita_excess": {"unit": "101015", "year": 2008, "category": "reception", "yuan_per_person": 230},
    "duplicate_payment": {"unit": "101017", "year": 2008, "category": "reception", "payee": "阳光宾馆",
                          "amount": 386_000, "date": dt.date(2008, 5, 12), "vouchers": ["2008-017-D01", "2008-017-D02"]},
    "disclosure_sum_mismatch": {"unit": "203002", "year": 2006, "column": "决算数_合计", "difference": y(100)},
}


@dataclass(frozen=True)
class Expense:
    unit: Unit
    year: int
    date: dt.date
    category: str
    amount: int  # fen
    payee: str
    description: str
    voucher: str
    persons: int | None = None
    batches: int | None = None


@dataclass(frozen=True)
class Budget:
    unit: Unit
    year: int
    category: str
    stage: str  # original | adjusted
    amount: int


@dataclass(frozen=True)
class DisclosureRow:
    unit: Unit
    year: int
    budget: dict  # category -> fen (multiples of 100 元: the table is in 万元 with two decimals)
    actual: dict
    counts: dict  # 因公出国团组数 … 公务接待人次
    actual_total_as_published: int


@dataclass
class City:
    seed: int
    units: list[Unit]
    expenses: list[Expense] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    disclosure: list[DisclosureRow] = field(default_factory=list)
    procurement: list = field(default_factory=list)  # sample.procurement.Purchase
    ocds: list = field(default_factory=list)


def make_city(seed: int = SEED) -> City:
    """Generate the whole city from ``seed``."""
    from sample.procurement import make_procurement

    rng = random.Random(seed)
    city = City(seed, all_units())
    for unit in city_units():
        totals = _annual_totals(rng, unit)
        budgets = _budgets(rng, unit, totals)
        city.budgets += budgets
        for year in sorted(totals):
            city.expenses += _line_items(rng, unit, year, totals[year])
    for unit in district_units():
        city.disclosure += _disclosure_rows(rng, unit)
    make_procurement(rng, city)
    _check_normal(city)
    return city


def _round(fen: float, step: int = YUAN) -> int:
    return int(round(fen / step)) * step


def _annual_totals(rng: random.Random, unit: Unit) -> dict[int, dict[str, int]]:
    """Actual spending per year and category, normal trend first, planted figures on top."""
    totals: dict[int, dict[str, int]] = {}
    for cat in CATEGORIES:
        level = BASE_YUAN[cat] * YUAN * unit.size * rng.uniform(0.6, 1.4)
        for year in YEARS:
            if year < unit.since:
                continue
            if year == 2009 and unit.since < 2009:
                continue
            level *= rng.uniform(0.98, 1.12)
            totals.setdefault(year, {})[cat] = _round(level, 10)
    _plant(unit, totals, before=2009)  # planted history first, so 2009 is cut from what was really spent
    if unit.since < 2009:
        prev, mean3 = totals[2008], _mean_prior(totals, 2009, 3)
        cut = {"reception": prev["reception"] * rng.uniform(0.70, 0.78),
               "meeting": prev["meeting"] * rng.uniform(0.85, 0.97),
               "overseas_travel": (mean3 or prev["overseas_travel"]) * rng.uniform(0.60, 0.75),
               "study_tour": prev["study_tour"] * rng.uniform(0.70, 0.78),
               "training": prev["training"] * rng.uniform(0.70, 0.78),
               "vehicle_purchase": prev["vehicle_purchase"] * 0.6}
        totals[2009] = {c: _round(cut.get(c, prev[c] * rng.uniform(0.90, 1.0)), 10) for c in CATEGORIES}
    _plant(unit, totals, before=None)
    return totals


def _plant(unit: Unit, totals: dict[int, dict[str, int]], before: int | None) -> None:
    """Overwrite planted actuals (only the years before ``before`` when given)."""
    def put(year: int, values: dict[str, int]) -> None:
        if before is None or year < before:
            totals[year].update(values)

    for case in PLANTED.values():
        if case.get("unit") != unit.code:
            continue
        if isinstance(case.get("actual"), dict) and "category" in case:
            for year, fen in case["actual"].items():
                put(year, {case["category"]: fen})
        elif isinstance(case.get("actual"), dict):
            for year, parts in case["actual"].items():
                put(year, parts)
        elif "actual" in case:
            put(case["year"], {case["category"]: case["actual"]})
        if "extra_transport_2009" in case and before is None:
            totals[2009]["transport"] += case["extra_transport_2009"]


def _mean_prior(totals, year: int, n: int) -> float | None:
    years = [year - i for i in range(1, n + 1)]
    if not all(yr in totals for yr in years):
        return None
    return sum(totals[yr]["overseas_travel"] for yr in years) / n


def _budgets(rng: random.Random, unit: Unit, totals) -> list[Budget]:
    """Original budgets above every actual; some lines adjusted (never below the actual)."""
    out: list[Budget] = []
    vp = {}
    for year in sorted(totals):
        for cat in CATEGORIES:
            actual = totals[year][cat]
            amount = math.ceil(actual * rng.uniform(1.05, 1.20) / (100 * YUAN)) * 100 * YUAN
            if cat == "vehicle_purchase":
                if year == 2009 and 2008 in vp:  # the -25% budget cut, met by default
                    amount = max(math.floor(vp[2008] * 0.72 / (100 * YUAN)) * 100 * YUAN, actual)
                vp[year] = amount
            out.append(Budget(unit, year, cat, "original", amount))
            if cat not in ("vehicle_purchase", "meeting") and rng.random() < 0.15:
                adjusted = math.ceil(amount * rng.uniform(0.97, 1.10) / (100 * YUAN)) * 100 * YUAN
                out.append(Budget(unit, year, cat, "adjusted", max(adjusted, actual)))
    overrides = {}
    for case in PLANTED.values():
        if case.get("unit") == unit.code and isinstance(case.get("budget"), dict):
            overrides |= {(year, case["category"]): fen for year, fen in case["budget"].items()}
        elif case.get("unit") == unit.code and isinstance(case.get("budget"), int):
            overrides[(case["year"], case["category"])] = case["budget"]
    out = [Budget(unit, b.year, b.category, b.stage, overrides.get((b.year, b.category), b.amount)) for b in out]
    return out


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    amounts = [int(total * w / sum(weights)) for w in weights]
    amounts[-1] += total - sum(amounts)
    return amounts


def _line_items(rng: random.Random, unit: Unit, year: int, totals: dict[str, int]) -> list[Expense]:
    out: list[Expense] = []
    seq = 0
    per_capita = next((c["yuan_per_person"] for c in PLANTED.values()
                       if c.get("unit") == unit.code and c.get("year") == year and "yuan_per_person" in c), None)
    dup = next((c for c in PLANTED.values() if "vouchers" in c and c["unit"] == unit.code and c["year"] == year), None)
    for cat in CATEGORIES:
        total = totals[cat]
        if dup and cat == dup["category"]:
            total -= 2 * dup["amount"]
        n = max(1, min(12, total // (8_000 * YUAN) + 1))
        for amount in _split(rng, total, n):
            seq += 1
            date = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            persons = batches = None
            if cat == "reception":
                cap = (per_capita or 110) * YUAN
                persons = max(1, amount // cap if per_capita else math.ceil(amount / cap))
                batches = max(1, persons // 8)
            elif cat in ("meeting", "training", "study_tour", "overseas_travel"):
                persons = rng.randint(3, 40)
            out.append(Expense(unit, year, date, cat, amount, rng.choice(PAYEES[cat]),
                               f"{CATEGORY_ZH[cat]}{seq:03d}", f"{year}-{unit.code[-3:]}-{seq:04d}", persons, batches))
        if dup and cat == dup["category"]:
            for voucher in dup["vouchers"]:
                out.append(Expense(unit, year, dup["date"], cat, dup["amount"], dup["payee"], "接待用餐（同一发票）",
                                   voucher, 30, 1))
    return out


def _disclosure_rows(rng: random.Random, unit: Unit) -> list[DisclosureRow]:
    """A district unit's 三公 table rows: 预算数 ≥ 决算数, figures in whole 100 元 (0.01 万元)."""
    rows = []
    step = 100 * YUAN
    level = {c: BASE_YUAN[c] * YUAN * unit.size * rng.uniform(0.5, 1.0) for c in THREE_PUBLIC}
    actual_by_year: dict[int, dict[str, int]] = {}
    budget_by_year: dict[int, dict[str, int]] = {}
    for year in YEARS:
        if year < 2009:
            for c in THREE_PUBLIC:
                level[c] *= rng.uniform(0.98, 1.12)
            actual = {c: _round(level[c], step) for c in THREE_PUBLIC}
        else:
            prev = actual_by_year[2008]
            mean3 = sum(actual_by_year[yr]["overseas_travel"] for yr in (2006, 2007, 2008)) / 3
            actual = {"overseas_travel": _round(mean3 * 0.7, step), "vehicle_purchase": _round(prev["vehicle_purchase"] * 0.6, step),
                      "vehicle_operation": _round(prev["vehicle_operation"] * 0.95, step),
                      "reception": _round(prev["reception"] * 0.75, step)}
        budget = {c: math.ceil(actual[c] * rng.uniform(1.05, 1.2) / step) * step for c in THREE_PUBLIC}
        if year == 2009:
            budget["vehicle_purchase"] = max(actual["vehicle_purchase"],
                                             math.floor(budget_by_year[2008]["vehicle_purchase"] * 0.72 / step) * step)
        actual_by_year[year], budget_by_year[year] = actual, budget
        reception_persons = math.ceil(actual["reception"] / (rng.uniform(70, 120) * YUAN))
        counts = {"因公出国团组数": rng.randint(1, 4), "因公出国人次": rng.randint(4, 16),
                  "公务用车购置数": rng.randint(1, 3), "公务用车保有量": rng.randint(6, 20),
                  "公务接待批次": max(1, reception_persons // 9), "公务接待人次": reception_persons}
        total = sum(actual.values())
        mismatch = PLANTED["disclosure_sum_mismatch"]
        if (unit.code, year) == (mismatch["unit"], mismatch["year"]):
            total += mismatch["difference"]
        rows.append(DisclosureRow(unit, year, budget, actual, counts, total))
    return rows


def _check_normal(city: City) -> None:
    """Guard the construction: nothing fires that was not planted (a changed seed must not lie)."""
    spent: dict[tuple, int] = {}
    for e in city.expenses:
        spent[(e.unit.code, e.year, e.category)] = spent.get((e.unit.code, e.year, e.category), 0) + e.amount
    budget: dict[tuple, int] = {}
    for b in sorted(city.budgets, key=lambda b: b.stage == "adjusted"):
        budget[(b.unit.code, b.year, b.category)] = b.amount  # adjusted wins where there is one
    overrun = {k for k, v in spent.items() if v > budget[k]}
    case = PLANTED["budget_overrun"]
    assert overrun == {(case["unit"], case["year"], case["category"])}, f"budget overrun in {sorted(overrun)}"
    unit_spent = sum(v for k, v in spent.items() if k[:2] == (case["unit"], case["year"]))
    unit_budget = sum(v for k, v in budget.items() if k[:2] == (case["unit"], case["year"]))
    assert unit_spent <= unit_budget, "the planted overrun unit must stay within its total budget"
    payments: dict[tuple, int] = {}
    for e in city.expenses:
        key = (e.unit.code, e.payee, e.amount, e.date)
        payments[key] = payments.get(key, 0) + 1
    assert [k for k, n in payments.items() if n > 1] == [
        (PLANTED["duplicate_payment"]["unit"], "阳光宾馆", PLANTED["duplicate_payment"]["amount"],
         PLANTED["duplicate_payment"]["date"])]
