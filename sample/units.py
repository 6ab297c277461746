"""The fictional city's budget units (阳光市): 28 city-level units and 12 in three districts.

Names are written here in code rather than in a data file so that everything the generator makes
comes from one seeded program. Codes are stable: the planted cases in ``sample/README.md`` cite them.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "阳光市"
FIRST_YEAR, LAST_YEAR = 2005, 2009
YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str  # 市级 | 区县级
    region: str
    parent: str | None = None
    since: int = FIRST_YEAR  # first fiscal year with data
    size: float = 1.0  # scales its spending


_CITY_DEPARTMENTS = [
    "人民政府办公室", "财政局", "发展和改革委员会", "教育局", "公安局", "民政局", "司法局", "人力资源和社会保障局",
    "国土资源局", "住房和城乡建设局", "交通运输局", "水务局", "农业局", "商务局", "文化广电新闻出版局", "卫生局",
    "审计局", "环境保护局", "统计局", "林业局", "安全生产监督管理局", "旅游局", "档案局", "机关事务管理局",
]
_SIZES = [1.4, 1.1, 1.0, 1.6, 1.8, 0.9, 0.7, 1.0, 1.1, 1.3, 1.5, 0.9, 1.0, 0.8, 0.8, 1.2,
          0.7, 0.8, 0.6, 0.7, 0.6, 0.7, 0.5, 1.2]
_SUBORDINATE = [  # (code, name, parent code)
    ("101025", "阳光市第一中学", "101004"),
    ("101026", "阳光市人民医院", "101016"),
]
_NEW_UNITS = [  # established during the period: the insufficient_data cases
    ("101027", "阳光市政务服务中心", 2009),
    ("101028", "阳光市城市管理行政执法局", 2007),
]
_DISTRICTS = [("201", "东城区"), ("202", "西城区"), ("203", "南湖县")]
_DISTRICT_UNITS = ["人民政府办公室", "财政局", "教育局", "卫生局"]


def all_units() -> list[Unit]:
    units = [
        Unit(f"101{i:03d}", f"{CITY}{name}", "市级", "市本级", size=_SIZES[i - 1])
        for i, name in enumerate(_CITY_DEPARTMENTS, start=1)
    ]
    units += [Unit(code, name, "市级", "市本级", parent=parent, size=0.8) for code, name, parent in _SUBORDINATE]
    units += [Unit(code, name, "市级", "市本级", since=since, size=0.7) for code, name, since in _NEW_UNITS]
    for prefix, district in _DISTRICTS:
        units += [
            Unit(f"{prefix}{i:03d}", f"{CITY}{district}{name}", "区县级", district, size=0.5 + 0.1 * i)
            for i, name in enumerate(_DISTRICT_UNITS, start=1)
        ]
    return units


def city_units() -> list[Unit]:
    """Units that hand in line items and budgets (expenses.csv, budgets.csv)."""
    return [u for u in all_units() if u.level == "市级"]


def district_units() -> list[Unit]:
    """Units that publish the wide 三公 disclosure table (disclosure.csv / .xlsx)."""
    return [u for u in all_units() if u.level == "区县级"]
