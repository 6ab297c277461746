"""Every error path answers in one shape: RFC 9457 problem details, a plain message, no traceback."""

from __future__ import annotations

import pytest

from tests.api_support import running, seed
from tests.conftest import BACKENDS


def assert_problem(r, status: int, parameter: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    if parameter is not None:
        assert parameter in body["detail"], body
        assert parameter in [e["parameter"] for e in body["errors"]], body
    return body


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, databases):
    url = databases.fresh(request.param)
    seed(url)
    with running(url, max_body_bytes=10_000) as client:
        client.url = url
        yield client
    databases.drop(url)


@pytest.mark.parametrize(
    "path, parameter",
    [
        ("/api/v1/expenses?year=abc", "year"),
        ("/api/v1/expenses?year_from=abc", "year_from"),
        ("/api/v1/expenses?limit=0", "limit"),
        ("/api/v1/expenses?limit=100000", "limit"),
        ("/api/v1/expenses?limit=ten", "limit"),
        ("/api/v1/expenses?sort=payee", "sort"),
        ("/api/v1/expenses?cursor=not-a-cursor", "cursor"),
        ("/api/v1/expenses?sort=-amount&cursor=WyJpZCIsMywzXQ", "cursor"),
        ("/api/v1/expenses?amount_min=1.234", "amount_min"),
        ("/api/v1/expenses?amount_max=lots", "amount_max"),
        ("/api/v1/expenses?date_from=2023-13-01", "date_from"),
        ("/api/v1/expenses?updated_since=yesterday", "updated_since"),
        ("/api/v1/expenses?format=xml", "format"),
        ("/api/v1/expenses?method=single_source", "method"),
        ("/api/v1/expenses?count=maybe", "count"),
        ("/api/v1/units?category=reception", "category"),
        ("/api/v1/aggregate?drilldown=payee", "drilldown"),
        ("/api/v1/aggregate?payee=x", "payee"),
        ("/api/v1/reports/three-public?year=twenty", "year"),
        ("/api/v1/reports/three-public", "year"),
        ("/api/v1/downloads/expenses.csv?year=abc", "year"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api, path, parameter):
    assert_problem(api.get(path), 400, parameter)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here",
        "/api/v1/expenses/999999",
        "/api/v1/expenses/abc",
        "/api/v1/flags/no-such-flag",
        "/api/v1/targets/no-such-target",
        "/api/v1/downloads/nothing.csv",
        "/api/v1/downloads/audit-log.csv",
        "/api/v1/downloads/expenses.xlsx",
        "/api/v1/reports/five-fees?year=2023",
    ],
)
def test_unknown_things_are_404(api, path):
    assert_problem(api.get(path), 404)


def test_wrong_method_is_405(api):
    assert_problem(api.delete("/api/v1/expenses"), 405)


def test_writes_without_token_are_401_and_with_a_bad_scheme_too(api):
    assert_problem(api.post("/api/v1/flags/flag1/reviews", json={"to_state": "explained", "note": "x"}), 401)
    assert_problem(api.post("/api/v1/imports?kind=expenses", files={"file": ("a.csv", b"x")}), 401)
    assert_problem(api.get("/api/v1/audit-log", headers={"Authorization": "Basic YTpi"}), 401)
    assert_problem(api.get("/api/v1/expenses", headers={"Authorization": "Bearer sl_unknown"}), 401)


def test_a_body_over_the_limit_is_413(api):
    r = api.post("/api/v1/imports?kind=expenses", files={"file": ("a.csv", b"x" * 20_000)},
                 headers={"Authorization": "Bearer sl_whatever"})
    assert r.status_code in (401, 413)  # the guard may answer first; both in the one shape
    assert_problem(r, r.status_code)


def test_a_bad_host_header_is_refused(api):
    assert_problem(api.get("/api/v1/expenses", headers={"Host": "evil.example"}), 400)


def test_rate_limit_answers_429_with_retry_after(databases):
    url = databases.fresh("sqlite")
    try:
        with running(url, rate_limit=3, rate_window_s=60) as client:
            codes = [client.get("/api/v1/categories").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = client.get("/api/v1/categories")
            assert_problem(r, 429)
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert client.get("/api/v1/schema/openapi.json").status_code == 200
    finally:
        databases.drop(url)
