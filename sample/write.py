"""Write the sample city as the files a finance bureau hands over, in the agreed formats.

Byte-for-byte deterministic: no timestamps, fixed ordering, fixed line endings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import xlsxwriter

from sample.city import CATEGORY_ZH, City, make_city
from sample.procurement import Purchase

FILES = ["units.csv", "expenses.csv", "budgets.csv", "disclosure.csv", "disclosure.xlsx", "procurement.csv",
         "ocds.json"]
DISCLOSURE_ITEMS = [("因公出国(境)费", ["overseas_travel"]),
                    ("公务用车购置及运行维护费", ["vehicle_purchase", "vehicle_operation"]),
                    ("公务用车购置费", ["vehicle_purchase"]), ("公务用车运行维护费", ["vehicle_operation"]),
                    ("公务接待费", ["reception"])]
COUNTS = ["因公出国团组数", "因公出国人次", "公务用车购置数", "公务用车保有量", "公务接待批次", "公务接待人次"]
OCDS_METHOD = {"公开招标": "open", "邀请招标": "selective", "竞争性谈判": "limited", "竞争性磋商": "limited",
               "询价": "limited", "单一来源": "direct"}
BLANK_ROW_AFTER = 100  # expenses.csv: a blank line, as spreadsheets export them
FULL_WIDTH_ROW = 7  # expenses.csv: this data row's amount is written in full-width digits


def write_city(out: Path, seed: int | None = None) -> dict[str, Path]:
    """Generate the city and write every file into ``out``; returns name -> path."""
    city = make_city() if seed is None else make_city(seed)
    out.mkdir(parents=True, exist_ok=True)
    writers = {"units.csv": _units, "expenses.csv": _expenses, "budgets.csv": _budgets,
               "disclosure.csv": _disclosure_csv, "procurement.csv": _procurement, "ocds.json": _ocds}
    paths = {}
    for name in FILES:
        path = out / name
        if name == "disclosure.xlsx":
            _disclosure_xlsx(city, path)
        else:
            path.write_bytes(writers[name](city))
        paths[name] = path
    return paths


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def wan(fen: int) -> str:
    """Fen as 万元 with two decimals (the sample's table figures are whole hundreds of 元)."""
    assert fen % 10_000 == 0, fen
    return f"{fen // 1_000_000}.{fen % 1_000_000 // 10_000:02d}"


def _csv(rows, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _units(city: City) -> bytes:
    rows = [["unit_code", "unit_name", "parent_code", "level", "region"]]
    rows += [[u.code, u.name, u.parent or "", u.level, u.region] for u in city.units]
    return _csv(rows)


def _expenses(city: City) -> bytes:
    rows = [["unit_code", "unit_name", "fiscal_year", "date", "category", "amount", "payee", "description",
             "voucher_no", "persons", "batches"]]
    for i, e in enumerate(city.expenses, start=1):
        amount = yuan(e.amount)
        if i == FULL_WIDTH_ROW:
            amount = amount.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
        rows.append([e.unit.code, e.unit.name, e.year, e.date.isoformat(), CATEGORY_ZH[e.category], amount, e.payee,
                     e.description, e.voucher, "" if e.persons is None else e.persons,
                     "" if e.batches is None else e.batches])
        if i == BLANK_ROW_AFTER:
            rows.append([])
    rows.append(["", "合计", "", "", "", yuan(sum(e.amount for e in city.expenses)), "", "", "", "", ""])
    return _csv(rows)


def _budgets(city: City) -> bytes:
    rows = [["单位编码", "单位名称", "年度", "类别", "阶段", "金额"]]
    rows += [[b.unit.code, b.unit.name, b.year, CATEGORY_ZH[b.category], "年初预算" if b.stage == "original" else "调整预算",
              yuan(b.amount)] for b in city.budgets]
    return _csv(rows)


def disclosure_header() -> list[str]:
    header = ["单位编码", "单位名称", "年度"]
    for side in ("预算数", "决算数"):
        header += [f"{side}_合计"] + [f"{side}_{name}" for name, _ in DISCLOSURE_ITEMS]
    return header + COUNTS


def _disclosure_cells(row) -> list:
    cells = [row.unit.code, row.unit.name, row.year]
    for side, figures in (("budget", row.budget), ("actual", row.actual)):
        total = sum(figures.values()) if side == "budget" else row.actual_total_as_published
        cells += [total] + [sum(figures[c] for c in cats) for _, cats in DISCLOSURE_ITEMS]
    return cells + [row.counts[c] for c in COUNTS]


def _total_row(rows) -> list:
    cells = [_disclosure_cells(r) for r in rows]
    return ["", "合计", ""] + [sum(c[i] for c in cells) for i in range(3, len(cells[0]))]


def _disclosure_csv(city: City) -> bytes:
    """GB18030, CRLF, a title row and 单位：万元 above the header, a 合计 row at the end."""
    rows = [["阳光市区县部门决算“三公”经费表（2005—2009年）"], ["单位：万元"], disclosure_header()]
    amounts = slice(3, 3 + 2 * (1 + len(DISCLOSURE_ITEMS)))
    for cells in [_disclosure_cells(r) for r in city.disclosure] + [_total_row(city.disclosure)]:
        cells[amounts] = [wan(v) for v in cells[amounts]]
        rows.append(cells)
    return _csv(rows, encoding="gb18030", newline="\r\n")


def _disclosure_xlsx(city: City, path: Path) -> None:
    """The same table, one sheet per year (as the bureau publishes it), figures as numbers in 万元."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": False})
    wb.set_properties({"title": "阳光市区县部门决算“三公”经费表", "author": "sunshine sample",
                        "created": dt.datetime(2010, 1, 15)})  # fixed, so the bytes are reproducible
    money = wb.add_format({"num_format": "0.00"})
    n_amounts = 2 * (1 + len(DISCLOSURE_ITEMS))
    for year in sorted({r.year for r in city.disclosure}):
        rows = [r for r in city.disclosure if r.year == year]
        ws = wb.add_worksheet(str(year))
        ws.write_row(0, 0, [f"阳光市{year}年区县部门决算“三公”经费表"])
        ws.write_row(1, 0, ["单位：万元"])
        ws.write_row(2, 0, disclosure_header())
        for i, cells in enumerate([_disclosure_cells(r) for r in rows] + [_total_row(rows)], start=3):
            for j, v in enumerate(cells):
                if 3 <= j < 3 + n_amounts:
                    ws.write_number(i, j, float(wan(v)), money)
                elif v != "":
                    ws.write(i, j, v)
    wb.close()


def _procurement(city: City) -> bytes:
    rows = [["项目编号", "单位编码", "单位名称", "年度", "项目名称", "采购方式", "预算金额", "合同金额", "供应商名称",
             "统一社会信用代码", "招标日期", "中标日期", "合同日期"]]
    rows += [[p.code, p.unit.code, p.unit.name, p.year, p.title, p.method, yuan(p.budget), yuan(p.contract), p.supplier,
              p.supplier_id, p.tender_date.isoformat(), p.award_date.isoformat(), p.contract_date.isoformat()]
             for p in city.procurement]
    return _csv(rows)


def _value(fen: int, currency: str = "CNY") -> dict:
    return {"amount": fen / 100, "currency": currency}


def _ocds(city: City) -> bytes:
    """An OCDS 1.1 release package; the first ten purchases come as two releases (tender, then contract)."""
    releases = []
    for i, p in enumerate(city.ocds):
        releases += _releases(p, split=i < 10, currency="cny" if i == 10 else "CNY")
    package = {
        "uri": "https://ggzy.example.gov.cn/ocds/2009.json", "version": "1.1",
        "publishedDate": "2010-01-15T09:00:00+08:00",
        "publisher": {"name": "阳光市公共资源交易中心", "scheme": "CN-USCC", "uid": "12430700MB1234567X"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": "https://ggzy.example.gov.cn/ocds/policy.html",
        "releases": releases,
    }
    return (json.dumps(package, ensure_ascii=False, indent=2) + "\n").encode()


def _releases(p: Purchase, split: bool, currency: str) -> list[dict]:
    ocid = f"ocds-ygcity-{p.code}"
    buyer = {"id": p.unit.code, "name": p.unit.name}
    parties = [{"id": p.unit.code, "name": p.unit.name, "roles": ["buyer", "procuringEntity"],
                "identifier": {"scheme": "CN-YGCZ", "id": p.unit.code, "legalName": p.unit.name}},
               {"id": p.supplier_id, "name": p.supplier, "roles": ["supplier"],
                "identifier": {"scheme": "CN-USCC", "id": p.supplier_id, "legalName": p.supplier}}]
    tender = {"id": p.code, "title": p.title, "status": "complete", "value": _value(p.budget, currency),
              "procurementMethod": OCDS_METHOD[p.method], "procurementMethodDetails": p.method,
              "tenderPeriod": {"startDate": f"{p.tender_date.isoformat()}T09:00:00+08:00"}}
    award = {"id": f"{p.code}-A1", "status": "active", "date": f"{p.award_date.isoformat()}T10:00:00+08:00",
             "value": _value(p.contract, currency), "suppliers": [{"id": p.supplier_id, "name": p.supplier}]}
    contract = {"id": f"{p.code}-C1", "awardID": award["id"], "status": "active",
                "dateSigned": f"{p.contract_date.isoformat()}T10:00:00+08:00", "value": _value(p.contract, currency)}
    base = {"ocid": ocid, "language": "zh", "initiationType": "tender", "buyer": buyer}
    if not split:
        return [{**base, "id": f"{p.code}-1", "date": f"{p.contract_date.isoformat()}T18:00:00+08:00",
                 "tag": ["tender", "award", "contract"], "parties": parties, "tender": tender,
                 "awards": [award], "contracts": [contract]}]
    first = {**base, "id": f"{p.code}-1", "date": f"{p.tender_date.isoformat()}T18:00:00+08:00", "tag": ["tender"],
             "parties": parties[:1], "tender": {**tender, "status": "active"}}
    second = {**base, "id": f"{p.code}-2", "date": f"{p.contract_date.isoformat()}T18:00:00+08:00",
              "tag": ["award", "contract", "tenderUpdate"], "parties": parties[1:],
              "tender": {"id": p.code, "status": "complete"}, "awards": [award], "contracts": [contract]}
    return [first, second]
