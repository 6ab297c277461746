"""The sample city's government procurement: about 2,000 records, every method, and an OCDS feed.

2007 and 2008 reproduce the figures of seed ``000_89286ee3854c4fc7.txt``: contract total 7.61 亿元
in 2007 and 11.93 亿元 in 2008, 2008 budgets 13.52 亿元 (growth 4.32 亿元, 56.8%; savings 1.59 亿元,
11.76%). ``SEED_FIGURES`` holds those totals for the tests. Part of 2009 (``OCDS_RECORDS``) is
published only through the public resource trading centre's OCDS release package, so the CSV and
the OCDS file never describe the same purchase twice.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

from sample.units import YEARS, Unit

YUAN, WAN, YI = 100, 1_000_000, 10_000_000_000  # fen per 元, 万元, 亿元
RECORDS_PER_YEAR = 400
OCDS_RECORDS = 40  # of 2009's records
# Contract totals per year (CSV and OCDS together), and the seed's 2008 budget total, in fen.
YEAR_CONTRACT = {2005: 512 * WAN * 100, 2006: 623 * WAN * 100, 2007: 761 * WAN * 100, 2008: 1193 * WAN * 100,
                 2009: 1262 * WAN * 100}
SEED_FIGURES = {2007: {"contract_fen": 761 * WAN * 100},
                2008: {"contract_fen": 1193 * WAN * 100, "budget_fen": 1352 * WAN * 100}}
METHODS = [  # (Chinese name, share of records, raw contract range in 万元)
    ("公开招标", 0.35, (100, 800)), ("邀请招标", 0.10, (30, 150)), ("竞争性谈判", 0.15, (10, 90)),
    ("竞争性磋商", 0.15, (10, 90)), ("询价", 0.20, (2, 50)), ("单一来源", 0.05, (5, 40)),
]
TITLES = ["办公设备采购", "物业管理服务", "信息化系统建设", "公务用车采购", "印刷服务", "绿化养护服务", "道路维修工程",
          "医疗设备采购", "教学设备采购", "安保服务", "会议服务", "软件运维服务", "档案数字化服务", "办公楼维修改造"]
_PREFIX = ["阳光市", "湖南", "长沙", "常德", "湘南", "洞庭"]
_CORE = ["宏达", "诚信", "恒通", "华瑞", "金桥", "正源", "远航", "博雅", "瑞丰", "新天地", "鑫源", "德信", "天成",
         "汇智", "明达", "永安", "安泰", "中科", "联创", "银河"]
_KIND = ["建设工程有限公司", "信息技术有限公司", "办公设备有限公司", "物业管理有限公司", "医疗器械有限公司",
         "印务有限公司", "环保科技有限公司", "汽车销售服务有限公司"]
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Planted procurement cases (figures in fen); sample/README.md lists them.
PLANTED_PROCUREMENT = {
    "procurement_over_budget": {"unit": "101012", "year": 2008, "code": "YGCG-2008-P001", "method": "公开招标",
                                "budget": 120 * WAN, "contract": 1_286_000 * YUAN, "supplier": "阳光市华信建设集团有限公司"},
    "single_source": {"unit": "101013", "year": 2008, "code": "YGCG-2008-P002", "method": "单一来源",
                      "budget": 390 * WAN, "contract": 386 * WAN, "supplier": "阳光市独创软件技术有限公司"},
    "split_purchase": {"unit": "101014", "year": 2008, "method": "询价", "supplier": "阳光市聚源办公设备有限公司",
                       "parts": [("YGCG-2008-P003", dt.date(2008, 6, 3), 36 * WAN),
                                 ("YGCG-2008-P004", dt.date(2008, 6, 12), 385_000 * YUAN),
                                 ("YGCG-2008-P005", dt.date(2008, 6, 20), 33 * WAN),
                                 ("YGCG-2008-P006", dt.date(2008, 6, 30), 346_000 * YUAN)]},
    "supplier_concentration": {"unit": "101018", "year": 2007, "method": "公开招标", "supplier": "阳光市鼎盛建设集团有限公司",
                               "parts": [("YGCG-2007-P001", dt.date(2007, 3, 20), 1200 * WAN),
                                         ("YGCG-2007-P002", dt.date(2007, 7, 10), 1000 * WAN),
                                         ("YGCG-2007-P003", dt.date(2007, 11, 5), 900 * WAN)]},
}


@dataclass(frozen=True)
class Purchase:
    code: str
    unit: Unit
    year: int
    title: str
    method: str  # Chinese name
    budget: int  # fen
    contract: int
    supplier: str
    supplier_id: str
    tender_date: dt.date
    award_date: dt.date
    contract_date: dt.date
    channel: str = "csv"  # csv | ocds
    planted: str | None = None


def make_procurement(rng: random.Random, city) -> None:
    """Add ``city.procurement`` (procurement.csv) and ``city.ocds`` (ocds.json)."""
    suppliers = [p + c + k for p in _PREFIX for c in _CORE for k in _KIND]
    ids = {s: "914307" + "".join(rng.choice(_USCC) for _ in range(12)) for s in suppliers}
    own = {u.code: iter(rng.sample(suppliers, 80)) for u in city.units}  # a unit never buys twice from one
    records: list[Purchase] = []
    for year in YEARS:
        active = [u for u in city.units if u.since <= year]
        planted = _planted(year, active, ids)
        normal = []
        for i in range(RECORDS_PER_YEAR - len(planted)):
            unit = active[i % len(active)]
            normal.append(_purchase(rng, unit, year, i + 1, next(own[unit.code]), ids))
        normal = _cap_shares(normal)
        normal = _scale(normal, YEAR_CONTRACT[year] - sum(p.contract for p in planted), "contract")
        if year in SEED_FIGURES and "budget_fen" in SEED_FIGURES[year]:
            normal = _fit_budgets(normal, SEED_FIGURES[year]["budget_fen"] - sum(p.budget for p in planted))
        records += planted + normal
    records.sort(key=lambda p: (p.year, p.code))
    records = _limit_single_source(records)
    year_2009 = [p for p in records if p.year == 2009]
    chosen = {p.code for p in rng.sample(year_2009, OCDS_RECORDS)}
    city.procurement = [p for p in records if p.code not in chosen]
    city.ocds = [replace(p, channel="ocds") for p in records if p.code in chosen]
    _check(city)


def _purchase(rng, unit: Unit, year: int, seq: int, supplier: str, ids) -> Purchase:
    method, (low, high) = _pick_method(rng.random())
    contract = int(rng.uniform(low, high) * 100) * 100 * YUAN  # whole hundreds of 元
    budget = int(contract * rng.uniform(1.03, 1.22)) // (100 * YUAN) * 100 * YUAN
    tender = dt.date(year, 1, 10) + dt.timedelta(days=rng.randrange(290))
    award = tender + dt.timedelta(days=rng.randint(15, 40))
    signed = award + dt.timedelta(days=rng.randint(3, 15))
    title = f"{unit.name.removeprefix('阳光市')}{rng.choice(TITLES)}"
    return Purchase(f"YGCG-{year}-{seq:04d}", unit, year, title, method, max(budget, contract), contract,
                    supplier, ids[supplier], tender, award, signed)


def _pick_method(r: float) -> tuple[str, tuple[int, int]]:
    acc = 0.0
    for method, share, bounds in METHODS:
        acc += share
        if r < acc:
            return method, bounds
    return METHODS[-1][0], METHODS[-1][2]


def _planted(year: int, active: list[Unit], ids) -> list[Purchase]:
    units = {u.code: u for u in active}
    out = []
    for name, case in PLANTED_PROCUREMENT.items():
        if case["year"] != year:
            continue
        unit, supplier = units[case["unit"]], case["supplier"]
        sid = f"91430700MA4L{list(PLANTED_PROCUREMENT).index(name):06d}"
        parts = case.get("parts") or [(case["code"], dt.date(year, 9, 15), case["contract"])]
        for code, signed, contract in parts:
            budget = case.get("budget", contract + 2 * WAN if contract < 100 * WAN else contract + 20 * WAN)
            out.append(Purchase(code, unit, year, f"{unit.name.removeprefix('阳光市')}{TITLES[len(out) % len(TITLES)]}",
                                case["method"], budget, contract, supplier, sid,
                                signed - dt.timedelta(days=20), signed - dt.timedelta(days=5), signed, planted=name))
    return out


def _limit_single_source(records: list[Purchase]) -> list[Purchase]:
    """A unit-year whose single-source share would pass 30% negotiates instead (single_source fires only where planted)."""
    total: dict[tuple, int] = {}
    single: dict[tuple, int] = {}
    for p in records:
        key = (p.unit.code, p.year)
        total[key] = total.get(key, 0) + p.contract
        single[key] = single.get(key, 0) + (p.contract if p.method == "单一来源" and not p.planted else 0)
    over = {k for k, v in single.items() if v * 100 > 30 * total[k]}
    return [replace(p, method="竞争性谈判") if (p.unit.code, p.year) in over and p.method == "单一来源" and not p.planted
            else p for p in records]


def _cap_shares(records: list[Purchase], cap: float = 0.4) -> list[Purchase]:
    """No supplier over ``cap`` of a unit's year, so supplier_concentration fires only where planted."""
    out = list(records)
    by_unit: dict[str, list[int]] = {}
    for i, p in enumerate(out):
        by_unit.setdefault(p.unit.code, []).append(i)
    for idx in by_unit.values():
        while True:
            total = sum(out[i].contract for i in idx)
            top = max(idx, key=lambda i: out[i].contract)
            if out[top].contract <= cap * total or len(idx) < 3:
                break
            rest = total - out[top].contract
            contract = int(rest * cap / (1 - cap)) // (100 * YUAN) * 100 * YUAN
            out[top] = replace(out[top], contract=contract, budget=min(out[top].budget, int(contract * 1.1)))
    return out


def _scale(records: list[Purchase], target: int, field_name: str) -> list[Purchase]:
    """Scale contracts (budgets alike) so the year adds up to ``target`` exactly; the rounding rest goes to the largest."""
    raw = sum(p.contract for p in records)
    out = []
    for p in records:
        contract = round(p.contract * target / raw / (100 * YUAN)) * 100 * YUAN
        budget = max(contract, round(p.budget * target / raw / (100 * YUAN)) * 100 * YUAN)
        out.append(replace(p, contract=contract, budget=budget))
    top = max(range(len(out)), key=lambda i: out[i].contract)
    rest = target - sum(p.contract for p in out)
    out[top] = replace(out[top], contract=out[top].contract + rest, budget=out[top].budget + max(rest, 0))
    return out


def _fit_budgets(records: list[Purchase], target: int) -> list[Purchase]:
    """Scale each record's savings (budget - contract) so the year's budgets add up to ``target``."""
    savings = sum(p.budget - p.contract for p in records)
    wanted = target - sum(p.contract for p in records)
    out = [replace(p, budget=p.contract + (p.budget - p.contract) * wanted // savings) for p in records]
    top = max(range(len(out)), key=lambda i: out[i].contract)
    out[top] = replace(out[top], budget=out[top].budget + target - sum(p.budget for p in out))
    return out


def _check(city) -> None:
    """Only the planted cases may trip the procurement flags (thresholds of sunshine.toml)."""
    everything = city.procurement + city.ocds
    assert not [p.code for p in everything if p.contract > p.budget and not p.planted], "contract over budget"
    assert not [p.code for p in everything if p.method == "单一来源" and p.contract > 100 * WAN and not p.planted], \
        "large single-source award"
    per_unit: dict[tuple, dict[str, int]] = {}
    for p in everything:
        per_unit.setdefault((p.unit.code, p.year), {}).setdefault(p.supplier, 0)
        per_unit[(p.unit.code, p.year)][p.supplier] += p.contract
    concentrated = {k for k, s in per_unit.items() if sum(s.values()) >= 100 * WAN and max(s.values()) * 2 > sum(s.values())}
    single: dict[tuple, int] = {}
    for p in everything:
        single[(p.unit.code, p.year)] = single.get((p.unit.code, p.year), 0) + (
            p.contract if p.method == "单一来源" and not p.planted else 0)
    assert not [k for k, v in single.items() if v * 100 > 30 * sum(per_unit[k].values())], "single-source share"
    case = PLANTED_PROCUREMENT["supplier_concentration"]
    assert concentrated == {(case["unit"], case["year"])}, f"supplier concentration in {sorted(concentrated)}"
    for year, figures in SEED_FIGURES.items():
        assert sum(p.contract for p in everything if p.year == year) == figures["contract_fen"]
        if "budget_fen" in figures:
            assert sum(p.budget for p in everything if p.year == year) == figures["budget_fen"]
