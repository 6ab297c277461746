"""Rules read plain frames on the driver's cursor (issue 15): the same frame SQLAlchemy's rows give."""

import polars as pl
import pytest
from sqlalchemy import PickleType, literal, select
from sqlalchemy.exc import CompileError

from ledger.rules import flag_rules_procurement as fp
from ledger.rules.registry import frame
from ledger.rules.sums import driver_frame
from ledger.store.models import ProcurementRecord
from tests.ledgertext import load_ledger, load_procurement


def test_driver_frames_are_sqlalchemy_frames(engine):
    load_ledger(engine, "unit year category budget actual date persons\nU1 2009 reception 10 20 2009-03-04 3\n"
                        "U'2 2009 meeting 5 7.5 2009-12-31 -")
    load_procurement(engine, "project unit year title budget contract supplier date\n"
                             "P1 U1 2009 买\"桌子\" 100 120 甲公司 2009-05-01\n"
                             "P2 U'2 2009 维修\\服务 50 40 B'Co 2009-12-31\n"
                             "P3 U1 2008 车辆 70 70 - -")
    p = ProcurementRecord.__table__
    schema = {"id": pl.Int64, "supplier": pl.String, "date": pl.Date, "budget": pl.Int64}
    queries = [select(p.c.id, p.c.supplier_name, p.c.contract_date, p.c.budget_fen).order_by(p.c.id),
               select(p.c.id, p.c.supplier_name, p.c.contract_date, p.c.budget_fen)
               .where(p.c.supplier_name.in_(["B'Co", "甲公司"])).order_by(p.c.id)]
    with engine.connect() as conn:
        for q in queries:
            want = pl.DataFrame(conn.execute(q).all(), schema=schema, orient="row")
            assert frame(conn, q, schema).equals(want)
        got = fp.procurement_frame(conn, None, None)
        assert got.height == 3 and got["date"].to_list()[2] is None and got.schema["date"] == pl.Date


def test_a_value_with_no_literal_form_is_read_with_bound_parameters(engine):
    # A pickled value cannot be written into the SQL text: the driver path gives up before running anything.
    p = ProcurementRecord.__table__
    load_procurement(engine, "project unit year title budget contract supplier date\n"
                             "P1 U1 2009 桌子 100 120 甲公司 2009-05-01")
    q = (select(p.c.id, p.c.supplier_name, literal(object(), PickleType).is_not(None).label("odd"))
         .order_by(p.c.id))
    schema = {"id": pl.Int64, "supplier": pl.String, "odd": pl.Int64}
    with engine.connect() as conn:
        with pytest.raises(CompileError):
            driver_frame(conn, q, schema)
        got = frame(conn, q, schema)
    assert got.rows() == [(1, "甲公司", 1)]
