"""The transparency log over HTTP: the signed checkpoint, leaves in bulk, proofs, a batch's canonical rows.

Everything here is public and read-only, cached like the other reads (the log only grows when a
batch or a review lands, and both change the data version). A third party checks what these
return with ``docs/verify_log.py`` and nothing but Python's standard library (``docs/verify.md``).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from api import respond
from api.auth import reveals_personal
from api.middleware.http_cache import add_headers
from api.middleware.streams import GuardedStream, chunks_in_threads, take_slot
from ledger.log import merkle, tlog
from ledger.log.canonical import ROW_COLUMNS, canonical_page
from ledger.read.privacy import redactor as privacy
from ledger.read.queries import INT64_MAX, NotFound, QueryError, bounded
from ledger.store.db import reading

MAX_LEAVES = 1000
TAGS = ["log"]
HEX = "0" * 64


class Checkpoint(msgspec.Struct):
    """A signed checkpoint: Ed25519 over ``signed_text``, by the key ``public_key`` (id ``key_id``)."""

    origin: str
    size: int
    root_hash: str
    time: str
    key_id: str
    public_key: str
    signature: str
    signed_text: str


class Leaf(msgspec.Struct):
    leaf_index: int
    event: str
    ref_id: str
    manifest: str
    leaf_hash: str


class Leaves(msgspec.Struct):
    start: int
    end: int
    tree_size: int
    leaves: list[Leaf]
    next: str | None


class InclusionProof(msgspec.Struct):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]
    manifest: str


class ConsistencyProof(msgspec.Struct):
    size1: int
    size2: int
    root1: str
    root2: str
    proof: list[str]


def _size(conn) -> int:
    cp = tlog.latest_checkpoint(conn)
    return 0 if cp is None else int(cp["size"])


def _read(fn, engine, *args):
    with reading(engine) as conn:
        return fn(conn, *args)


@get("/log/checkpoint", tags=TAGS, summary="The latest signed checkpoint of the transparency log",
     description="Size, Merkle root (RFC 9162) and time, signed with the ledger's Ed25519 key; the public key and "
     "its id (first 16 hex digits of SHA-256 of the key) come with it. Check it with "
     "`python3 docs/verify_log.py checkpoint cp.json --public-key <the key you pinned>`. 404 before anything "
     "is published. Example: "
     '`{"origin":"sunshine-ledger/v1","size":2,"root_hash":"5f…","time":"2026-11-21T09:30:12Z","key_id":"1f0c…",'
     '"public_key":"…","signature":"…","signed_text":"sunshine-ledger/v1\\n2\\n5f…\\n2026-11-21T09:30:12Z\\n"}`')
async def checkpoint(request: Request) -> Response[Checkpoint]:
    doc = await respond.blocking(request, _read, tlog.latest_checkpoint, request.app.state.engine)
    if doc is None:
        raise NotFound("nothing has been published yet, so there is no checkpoint")
    return respond.reply(request, doc)


def _leaves(conn, start: int, end: int) -> tuple[int, list[dict]]:
    return _size(conn), tlog.leaves(conn, start, end - start)


@get("/log/leaves", tags=TAGS, summary="Leaves of the log in bulk, in order",
     description=f"Leaves `start` (inclusive) to `end` (exclusive), at most {MAX_LEAVES} per request; `end` "
     f"defaults to `start + {MAX_LEAVES}`. Each leaf is the manifest (canonical JSON) of a published import, "
     "correction or review, with its leaf hash `SHA-256(0x00 ‖ manifest)`. Follow `next` until it is null; the "
     "leaves up to a checkpoint's size hash to its root (`verify_log.py leaves`).")
async def leaves(
    request: Request,
    start: Annotated[int, QueryParameter(description="First leaf index", ge=0,
                                         examples=[Example(summary="from the first leaf", value=0)])] = 0,
    end: Annotated[int | None, QueryParameter(description=f"One past the last leaf (at most start + {MAX_LEAVES})",
                                              ge=0, examples=[Example(summary="the first 100", value=100)])] = None,
) -> Response[Leaves]:
    bounded("start", start)
    end = min(start + MAX_LEAVES, INT64_MAX) if end is None else bounded("end", end)
    if end < start:
        raise QueryError("end", f"{end} is before start {start}")
    if end - start > MAX_LEAVES:
        raise QueryError("end", f"at most {MAX_LEAVES} leaves per request (start {start}, end {end})")
    size, rows = await respond.blocking(request, _read, _leaves, request.app.state.engine, start, end)
    got = start + len(rows)
    nxt = f"{request.scope['path']}?start={got}&end={got + (end - start)}" if rows and got == end and got < size else None
    return respond.reply(request, {"start": start, "end": got, "tree_size": size, "leaves": rows, "next": nxt})


def _inclusion(conn, batch: int | None, leaf: int | None, size: int | None) -> dict:
    log_size = _size(conn)
    size = log_size if size is None else size
    if size > log_size:
        raise QueryError("size", f"the log's latest checkpoint has {log_size} leaves, not {size}")
    if batch is not None:
        leaf = tlog.batch_leaf_index(conn, batch)
        if leaf is None:
            raise NotFound(f"batch {batch} is not in the log")
        if leaf >= size:
            raise QueryError("size", f"batch {batch} is leaf {leaf}, which a tree of size {size} does not hold")
    elif leaf >= size:
        raise QueryError("leaf", f"leaf {leaf} is not in a tree of size {size}")
    proof = tlog.inclusion_proof(conn, leaf, size)
    proof["manifest"] = tlog.leaves(conn, leaf, 1)[0]["manifest"]
    return proof


@get("/log/proofs/inclusion", tags=TAGS, summary="Inclusion proof of a batch's (or a leaf's) manifest",
     description="The audit path (RFC 9162 §2.1.3) from one leaf to the root of the tree of `size` leaves (default: "
     "the latest checkpoint's size), with the leaf's manifest. Give `batch` or `leaf`, not both. Save `manifest` "
     "to a file and run `verify_log.py inclusion cp.json proof.json manifest.json`.")
async def inclusion(
    request: Request,
    batch: Annotated[int | None, QueryParameter(description="An import batch id", ge=1,
                                                examples=[Example(summary="batch 2", value=2)])] = None,
    leaf: Annotated[int | None, QueryParameter(description="A leaf index", ge=0)] = None,
    size: Annotated[int | None, QueryParameter(description="Tree size to prove against (default: latest checkpoint)",
                                               ge=1)] = None,
) -> Response[InclusionProof]:
    if (batch is None) == (leaf is None):
        raise QueryError("batch", "give exactly one of batch or leaf")
    for name, value in (("batch", batch), ("leaf", leaf), ("size", size)):
        if value is not None:
            bounded(name, value)
    return respond.reply(request, await respond.blocking(request, _read, _inclusion, request.app.state.engine,
                                                         batch, leaf, size))


def _consistency(conn, size1: int, size2: int | None) -> dict:
    log_size = _size(conn)
    size2 = log_size if size2 is None else size2
    if size2 > log_size:
        raise QueryError("to", f"the log's latest checkpoint has {log_size} leaves, not {size2}")
    if size1 > size2:
        raise QueryError("from", f"{size1} is larger than to={size2}: a log never shrinks")
    try:
        return tlog.consistency_proof(conn, size1, size2)
    except merkle.ProofError as exc:  # not reachable after the checks above; kept as a 400, never a 500
        raise QueryError("from", str(exc)) from None


@get("/log/proofs/consistency", tags=TAGS, summary="Consistency proof between two tree sizes",
     description="Shows the tree of `from` leaves is a prefix of the tree of `to` leaves (RFC 9162 §2.1.4); `to` "
     "defaults to the latest checkpoint's size. Check it against a checkpoint you saved earlier with "
     "`verify_log.py consistency old-cp.json cp.json proof.json`. `from` > `to` is a 400 naming `from`.")
async def consistency(
    request: Request,
    # Taken as text and parsed here, so a bad value is a 400 naming ``from`` (the Python name cannot be).
    size1: Annotated[str, QueryParameter(name="from", description="The older tree size (e.g. a saved checkpoint's)",
                                         schema_extra={"type": "integer", "minimum": 0},
                                         examples=[Example(summary="a checkpoint of size 1", value=1)])],
    size2: Annotated[str | None, QueryParameter(name="to", description="The newer tree size (default: latest)",
                                                schema_extra={"type": "integer", "minimum": 0},
                                                examples=[Example(summary="size 2", value=2)])] = None,
) -> Response[ConsistencyProof]:
    m, n = _size_param("from", size1), None if size2 is None else _size_param("to", size2)
    return respond.reply(request, await respond.blocking(request, _read, _consistency, request.app.state.engine, m, n))


def _size_param(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise QueryError(name, f"{value!r} is not a tree size (a whole number, 0 or more)")
    return bounded(name, int(value))


def _row_fetcher(engine, batch_id: int, limit: int, reveal: bool = False):
    """Pages of a batch's canonical rows, each read in its own short transaction (``api.middleware.streams``);
    natural persons' names hidden unless ``reveal`` (``ledger.read.privacy``)."""
    tables, after, version = list(ROW_COLUMNS), [None], [None]

    def fetch() -> bytes | None:
        while tables:
            with reading(engine) as conn:
                if version[0] is None:  # the columns of the batch's own leaf (v1 leaves keep v1 rows)
                    version[0] = tlog.batch_manifest_version(conn, batch_id) or "1"
                ids, lines = canonical_page(conn, batch_id, tables[0], after[0], limit, version[0])
                lines = privacy.canonical_lines(privacy.for_reader(conn, reveal=reveal), tables[0], lines)
            if len(ids) < limit:
                tables.pop(0)
                after[0] = None
            else:
                after[0] = ids[-1]
            if lines:
                return b"\n".join(lines) + b"\n"
        return None

    return fetch


@get("/log/batches/{batch_id:int}/rows", tags=TAGS, media_type="application/x-ndjson",
     summary="A batch's canonical rows, streamed",
     description="One JSON array per line, exactly the bytes the batch's `rows_sha256` hashes (docs/verify.md, "
     "\"Canonical rows\"): SHA-256 over the whole body must equal the manifest's `rows_sha256`, and the line count "
     'its `row_count`. Example line: `["expense_entry","5","2","2","1","2023","2023-03-01","reception","30000",'
     '"CNY","某酒店",null,null,null,null,null,null,null,null]`. Check with `verify_log.py rows cp.json leaves.json 2 rows.jsonl`.')
async def batch_rows(
    request: Request,
    batch_id: Annotated[int, PathParameter(description="The import batch id", ge=1,
                                           examples=[Example(summary="batch 2", value=2)])],
) -> GuardedStream:
    engine = request.app.state.engine
    if await respond.blocking(request, _read, tlog.batch_leaf_index, engine, batch_id) is None:
        raise NotFound(f"batch {batch_id} is not in the log")
    reveal = reveals_personal(request)
    take_slot(request)
    fetch = _row_fetcher(engine, batch_id, request.app.state.settings.stream_chunk_rows, reveal)
    response = GuardedStream(chunks_in_threads(fetch), status_code=200, media_type="application/x-ndjson",
                      headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-rows.jsonl"',
                               # without a token, natural persons' names read 个人（已隐去）: such a line no
                               # longer hashes to the manifest (docs/privacy.md)
                               "Sunshine-Personal-Data": "shown" if reveal else "hidden"})
    add_headers(response, request)
    return response


routes = [checkpoint, leaves, inclusion, consistency, batch_rows]
