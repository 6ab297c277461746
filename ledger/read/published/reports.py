"""Disclosure reports: 四费公开, the 部门决算“三公”经费表, and government procurement per year.

Every figure comes from live rows (budgets and actuals from ``rollup``, counts and procurement from
their tables). Table figures are resolved by ``ledger.store.published``: a node's published figure
where one exists, else the sum of its children; each item says per stage (``budget``, ``adjusted``,
``execution``, ``final``, ``prior_final``) its ``basis`` (published | derived) and ``source``
(disclosure | budgets | line_items | children | sum), and each unit row lists its ``findings``
(``source-mismatch``: line items or a budgets file differing from the published table). Money is
integer fen; percentages are ``Decimal`` with two places, rounded half up, or None when undefined (a
zero or missing base). ``ledger.read.published.report_text`` writes the explanatory paragraph and CSV rows from
these dicts; display money goes through ``ledger.money`` (万元 / 亿元).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import BigInteger, Connection, cast, func, select

from ledger.store import published
from ledger.store.batches import live
from ledger.store.models import ExpenseEntry, ProcurementRecord, Unit

# The rows of the standard 部门决算“三公”经费表, top to bottom.
THREE_PUBLIC_ITEMS = [
    ("total", "合计", ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"]),
    ("overseas_travel", "因公出国(境)费", ["overseas_travel"]),
    ("vehicles", "公务用车购置及运行维护费", ["vehicle_purchase", "vehicle_operation"]),
    ("vehicle_purchase", "公务用车购置费", ["vehicle_purchase"]),
    ("vehicle_operation", "公务用车运行维护费", ["vehicle_operation"]),
    ("reception", "公务接待费", ["reception"]),
]
FOUR_FEES_ITEMS = [
    ("total", "合计", ["reception", "meeting", "study_tour", "transport"]),
    ("reception", "接待费", ["reception"]),
    ("meeting", "会议费", ["meeting"]),
    ("study_tour", "学习考察费", ["study_tour"]),
    ("transport", "交通费", ["transport"]),
]
METHODS_ZH = {
    "open_tender": "公开招标", "invited_tender": "邀请招标", "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商", "single_source": "单一来源", "rfq": "询价", "other": "其他",
}
SAVINGS_RATE_DEFINITION = "savings ÷ budget amount: (预算金额 − 合同金额) ÷ 预算金额, over records stating both"
COUNT_FIELDS = {  # count name -> (category, expense_entry column)
    "overseas_groups": ("overseas_travel", "batches"), "overseas_persons": ("overseas_travel", "persons"),
    "vehicles_purchased": ("vehicle_purchase", "vehicles"), "vehicles_held": ("vehicle_operation", "vehicles"),
    "reception_batches": ("reception", "batches"), "reception_persons": ("reception", "persons"),
}


def percent(num: int | None, den: int | None) -> Decimal | None:
    """``num ÷ den × 100`` to two places, half up; None when either is missing or ``den`` is zero."""
    if num is None or den is None or den == 0:
        return None
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _units(conn: Connection, unit: str | None) -> dict[int, tuple[str, str]]:
    q = select(Unit.id, Unit.code, Unit.name)
    if unit:
        q = q.where(Unit.code == unit)
    return {i: (c, n) for i, c, n in conn.execute(q)}


def _figures(conn: Connection, years: list[int], unit_ids: list[int]) -> tuple[pl.DataFrame, dict]:
    """Resolved figures (``ledger.store.published.resolve``) of these units and years, and the category tree."""
    tree = published.parents(conn)
    return published.resolve(published.rollup_rows(conn, years, unit_ids), tree), tree


def _counts(conn: Connection, year: int, unit_ids: list[int]) -> dict[tuple, int | None]:
    e = ExpenseEntry.__table__
    q = (
        select(e.c.unit_id, e.c.category_code, cast(func.sum(e.c.batches), BigInteger),
               cast(func.sum(e.c.persons), BigInteger), cast(func.sum(e.c.vehicles), BigInteger))
        .where(live(e.c.batch_id), e.c.fiscal_year == year, e.c.unit_id.in_(unit_ids),
               e.c.category_code.in_(["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception",
                                      "vehicles"]))
        .group_by(e.c.unit_id, e.c.category_code)
    )
    out: dict[tuple, int | None] = {}
    for u, c, b, p, v in conn.execute(q):
        out.update({(u, c, "batches"): b, (u, c, "persons"): p, (u, c, "vehicles"): v})
    return out


def _lookup(resolved: pl.DataFrame) -> dict[tuple, tuple[int | None, str, str]]:
    """``{(measure, unit_id, year, category): (fen, basis, source)}``."""
    return {(m, u, y, c): (a, b, s) for m, u, y, c, a, b, s in resolved.select(
        "measure", "unit_id", "fiscal_year", "category_code", "amount", "basis", "source").iter_rows()}


def _figure(fig: dict, tree: dict, measure: str, unit_ids: list[int], year: int, cats: list[str]):
    """(fen, basis, source) of an item: one node's figure, or the sum of several (derived); None when missing."""
    nodes = published.collapse(cats, tree) if len(cats) > 1 else cats
    found = [fig[k] for u in unit_ids for c in nodes if (k := (measure, u, year, c)) in fig and fig[k][0] is not None]
    if not found:
        return None, None, None
    if len(found) == 1 and len(unit_ids) == 1 and len(nodes) == 1:
        return found[0]  # one node of one unit: as resolved (published, or derived from its children)
    return sum(f[0] for f in found), "derived", "sum"


def _item_rows(items, fig: dict, tree: dict, unit_ids: list[int], year: int) -> list[dict]:
    rows = []
    for code, name, cats in items:
        stages = {stage: _figure(fig, tree, measure, unit_ids, year, cats)
                  for stage, measure in published.STAGE_MEASURE.items()}
        prior = _figure(fig, tree, "actual", unit_ids, year - 1, cats)
        budget, actual = stages["budget"][0], stages["final"][0]
        change = None if actual is None or prior[0] is None else actual - prior[0]
        rows.append({
            "item": code, "category_code": node[0] if len(node := published.collapse(cats, tree)) == 1 else None,
            "name_zh": name,
            "budget_fen": budget, "adjusted_fen": stages["adjusted"][0], "execution_fen": stages["execution"][0],
            "actual_fen": actual, "completion_pct": percent(actual, budget), "prior_actual_fen": prior[0],
            "change_fen": change, "change_pct": percent(change, prior[0]) if prior[0] else None,
            "basis": {**{s: f[1] for s, f in stages.items()}, "prior_final": prior[1]},
            "source": {**{s: f[2] for s, f in stages.items()}, "prior_final": prior[2]},
        })
    return rows


def _table_report(conn: Connection, kind: str, items, year: int, unit: str | None) -> dict:
    units = _units(conn, unit)
    resolved, tree = _figures(conn, [year, year - 1], list(units))
    fig = _lookup(resolved)
    with_data = sorted({u for (_m, u, y, _c) in fig if y == year}, key=lambda u: units[u][0])
    counts = _counts(conn, year, with_data) if kind == "three-public" else {}
    cats = {c for _, _, cs in items for c in cs} | {published.collapse(cs, tree)[0] for _, _, cs in items}
    found = [f for f in published.findings(resolved) if f["fiscal_year"] == year and f["category_code"] in cats]
    rows = []
    for u in with_data:
        row = {"unit_code": units[u][0], "unit_name": units[u][1], "fiscal_year": year,
               "items": _item_rows(items, fig, tree, [u], year),
               "findings": [{k: v for k, v in f.items() if k != "unit_id"} | {"unit_code": units[u][0]}
                            for f in found if f["unit_id"] == u]}
        if kind == "three-public":
            row["counts"] = {k: counts.get((u, c, col)) for k, (c, col) in COUNT_FIELDS.items()}
            if row["counts"]["vehicles_held"] is None:  # a subtotal published without its split carries 保有量
                row["counts"]["vehicles_held"] = counts.get((u, "vehicles", "vehicles"))
        rows.append(row)
    report = {"report": kind, "fiscal_year": year, "unit": unit, "amounts": "fen", "rows": rows}
    if unit is None and len(rows) > 1:
        report["total"] = {"unit_code": None, "unit_name": "全部单位", "fiscal_year": year,
                           "items": _item_rows(items, fig, tree, with_data, year)}
    return report


def three_public(conn: Connection, year: int, unit: str | None = None) -> dict:
    """The 部门决算“三公”经费表 for ``year``: per unit (and a total across units when no ``unit``).

    Each unit row has ``items`` in the table's order (合计, 因公出国(境)费, 公务用车购置及运行维护费,
    购置费, 运行维护费, 公务接待费) with budget (年初预算), actual (决算), completion %, prior-year
    actual and change in fen and %; and ``counts`` (团组数, 人次, 购置数, 保有量, 接待批次, 人次).
    Units without live data in ``year`` are left out.
    """
    return _table_report(conn, "three-public", THREE_PUBLIC_ITEMS, year, unit)


def four_fees(conn: Connection, year: int, unit: str | None = None) -> dict:
    """四费公开 for ``year``: reception, meeting, study-tour and transport spending per unit, as ``three_public``."""
    return _table_report(conn, "four-fees", FOUR_FEES_ITEMS, year, unit)


def _procurement_sums(conn: Connection, years: list[int], unit: str | None) -> list[tuple]:
    p, u = ProcurementRecord.__table__, Unit.__table__
    both = p.c.budget_fen.is_not(None) & p.c.contract_fen.is_not(None)
    q = (
        select(
            p.c.fiscal_year, p.c.method, func.count(), cast(func.sum(p.c.contract_fen), BigInteger),
            cast(func.sum(p.c.budget_fen), BigInteger),
            cast(func.sum(func.coalesce(p.c.budget_fen, 0)).filter(both), BigInteger),
            cast(func.sum(func.coalesce(p.c.contract_fen, 0)).filter(both), BigInteger),
            func.count().filter(p.c.budget_fen.is_(None)),
        )
        .where(live(p.c.batch_id), p.c.currency == "CNY", p.c.fiscal_year.in_(years))
        .group_by(p.c.fiscal_year, p.c.method)
    )
    if unit:
        q = q.join(u, u.c.id == p.c.unit_id).where(u.c.code == unit)
    return conn.execute(q).all()


def procurement(conn: Connection, year: int, unit: str | None = None) -> dict:
    """Government procurement in ``year`` (all units, or ``unit``), in total and by method.

    scale = sum of contract amounts; growth = scale − prior year's scale (and ÷ prior scale);
    budget_total = sum of budget amounts; savings = budget − contract and savings_rate = savings ÷
    budget, both over records that state both amounts (``savings_rate_definition`` says so).
    """
    rows = _procurement_sums(conn, [year, year - 1], unit)

    def block(selected: list[tuple]) -> dict:
        scale = sum(r[3] or 0 for r in selected)
        budget = sum(r[4] or 0 for r in selected)
        sb, sc = sum(r[5] or 0 for r in selected), sum(r[6] or 0 for r in selected)
        return {"records": sum(r[2] for r in selected), "records_without_budget": sum(r[7] for r in selected),
                "scale_fen": scale, "budget_total_fen": budget, "savings_fen": sb - sc,
                "savings_rate_pct": percent(sb - sc, sb)}

    cur = [r for r in rows if r[0] == year]
    prior = [r for r in rows if r[0] == year - 1]
    out = {"report": "procurement", "fiscal_year": year, "unit": unit, "amounts": "fen", **block(cur)}
    prior_scale = sum(r[3] or 0 for r in prior) if prior else None
    growth = None if prior_scale is None else out["scale_fen"] - prior_scale
    out.update({"prior_scale_fen": prior_scale, "growth_fen": growth,
                "growth_pct": percent(growth, prior_scale) if prior_scale else None,
                "savings_rate_definition": SAVINGS_RATE_DEFINITION})
    methods = sorted({r[1] for r in cur}, key=lambda m: list(METHODS_ZH).index(m) if m in METHODS_ZH else 99)
    out["by_method"] = [
        {"method": m, "name_zh": METHODS_ZH.get(m, m), **block([r for r in cur if r[1] == m]),
         "share_pct": percent(sum(r[3] or 0 for r in cur if r[1] == m), out["scale_fen"])}
        for m in methods
    ]
    return out


def report(conn: Connection, kind: str, year: int, unit: str | None = None) -> dict:
    """Dispatch by kind: ``four-fees``, ``three-public`` or ``procurement``."""
    funcs = {"four-fees": four_fees, "three-public": three_public, "procurement": procurement}
    if kind not in funcs:
        raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(funcs)}")
    return funcs[kind](conn, year, unit)
