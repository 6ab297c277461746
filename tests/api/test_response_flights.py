"""A response-cache miss is computed once however many requests ask for it at the same moment.

On PostgreSQL reads run on worker threads, so before this every one of N simultaneous requests for
a cold URL ran the same SQL side by side: at 5M rows the mixed benchmark's 16 connections all asked
for cold aggregates at once and all passed wrk's 5 s timeout together (docs/benchmarks.md). On
SQLite reads run one at a time on the event loop, so the second request already finds the answer.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.read import queries
from tests.api_support import running, seed
from tests.conftest import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def url(request, databases):
    url = databases.fresh(request.param)
    seed(url)
    yield url
    databases.drop(url)


@pytest.mark.parametrize("cache", [True, False])
def test_simultaneous_misses_of_one_url_run_its_read_once(url, cache, monkeypatch):
    reads: list[str] = []
    real = queries.list_rows

    def counted(conn, name, *args, **kwargs):  # the real read, counted; the first one held a moment, as a cold one is
        reads.append(name)
        if len(reads) == 1:
            time.sleep(0.5)
        return real(conn, name, *args, **kwargs)

    monkeypatch.setattr(queries, "list_rows", counted)
    with running(url, response_cache=cache) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get("/api/v1/expenses?unit=U2&limit=1"), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert {a.content for a in answers} == {answers[0].content}
    assert [r["amount_fen"] for r in answers[0].json()["data"]] == [-500]
    assert answers[0].json()["total"] == 2
    # cached: the eight share one read; cache off: each runs its own, as the cold-read benchmark wants
    assert reads == ["expenses"] * (1 if cache else 8)


def test_a_held_download_does_not_hold_back_the_next_request_for_it(monkeypatch, databases, backend):
    """A download is streamed, never cached: the requests waiting for it are released once its answer is built,
    not when a slow reader has taken the last byte (the wait is raised to an hour so a held-back request would hang)."""
    from api.middleware import http_cache
    from tests.api.test_streams import PATH, SEEDED_LIVE_EXPENSES, WIDE_ROWS, _open, _seed_wide

    monkeypatch.setattr(http_cache, "FLIGHT_WAIT_S", 3600.0)
    url = databases.fresh(backend)
    try:
        _seed_wide(url)
        with running(url, stream_max=4, stream_stall_s=300.0, stream_chunk_rows=20) as client:
            held, head = _open(client.base_url.port)  # reads 1 KB, then stops reading
            try:
                assert head.startswith(b"HTTP/1.1 200")
                second, head = _open(client.base_url.port)  # the same request, so the same cache key
                second.close()
                assert head.startswith(b"HTTP/1.1 200")
            finally:
                held.close()
            time.sleep(0.5)
            assert client.get(PATH).text.count("\r\n") - 1 == WIDE_ROWS + SEEDED_LIVE_EXPENSES
    finally:
        databases.drop(url)
