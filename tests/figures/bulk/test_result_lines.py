"""``sunshine check --json`` prints each target result as text built column-wise (issue 15): byte for byte
``json.dumps`` of the dict ``iter_target_results`` yields, for every status, measure and filter."""

import json
import random

from cli.common import _default
from ledger.rules.bulk import result_lines as rl
from ledger.rules.checks import iter_target_results
from tests.ledgertext import load_consumption, load_ledger, load_policy, run, target_toml


def _ledger(rng: random.Random) -> str:
    lines = ["unit year category budget actual"]
    for u in range(1, 41):
        for year in (2006, 2007, 2008, 2009):
            for cat in ("reception", "meeting", "training"):
                if rng.random() < 0.15:  # a year without data: insufficient_data
                    continue
                actual = rng.choice([0, rng.randint(1, 100), rng.randint(100, 10**7)])
                lines.append(f"U{u:02d} {year} {cat} {rng.randint(0, 10**6)} {actual}.{rng.randint(0, 99):02d}")
    return "\n".join(lines)


def _expected(conn, run_id, year=None):
    return [json.dumps(x, ensure_ascii=False, default=_default) for x in iter_target_results(conn, run_id, year=year)]


def test_result_lines_are_the_dicts_encoded(engine, tmp_path, monkeypatch):
    rng = random.Random(15)
    load_ledger(engine, _ledger(rng))
    load_consumption(engine, "unit year resource quantity\n" + "\n".join(
        f"U{u:02d} {y} electricity {rng.randint(1, 10**6)}.{rng.randint(0, 999):03d}"
        for u in range(1, 30) for y in (2007, 2008, 2009)))
    toml = "".join([
        target_toml("meet", measure="actual", category="meeting", baseline="prior_year", change_pct=-10,
                    year_from=2007, title='会议费\\"压减\\"\\\\10%'),  # 会议费"压减"\10%
        target_toml("rec2", measure="actual", category="reception", baseline="mean_prior_years:2", change_pct=0,
                    year_from=2008),
        target_toml("fix", measure="budget", category="training", baseline="fixed_year:2006", change_pct=5.5,
                    year_from=2007),
        target_toml("vehicles", measure="actual", category="vehicle_operation", baseline="prior_year",
                    change_pct=-20, year_from=2008),  # no unit has any: no_data
        target_toml("power", measure="consumption", resource="electricity", baseline="prior_year", change_pct=-3,
                    year_from=2006),  # no consumption in 2006: no_data
    ])
    assert load_policy(engine, tmp_path, toml).ok
    summary = run(engine)
    monkeypatch.setattr(rl, "CHUNK_ROWS", 37)  # many chunks
    with engine.connect() as conn:
        want = _expected(conn, summary.run_id)
        assert len(want) > 300
        statuses = {json.loads(w)["status"] for w in want}
        assert statuses == {"met", "missed", "insufficient_data", "no_data"}
        assert any('"growth_pct": "-' in w for w in want) and any('"measure_unit": "kWh"' in w for w in want)
        assert list(rl.result_lines(conn, summary.run_id)) == want
        assert list(rl.result_lines(conn, summary.run_id, year=2008)) == _expected(conn, summary.run_id, 2008)
    year_run = run(engine, year=2009)
    with engine.connect() as conn:
        assert list(rl.result_lines(conn, year_run.run_id, year=2009)) == _expected(conn, year_run.run_id, 2009)
