"""``sunshine checkpoint export FILE | leaves FILE | rows BATCH FILE | prove``: the log for third parties."""

from __future__ import annotations

import json

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.log import merkle, tlog
from ledger.log.canonical import canonical_rows
from ledger.store.db import make_engine, reading


@click.group("checkpoint", help=h("help.checkpoint"))
def command() -> None:
    """Export signed checkpoints, leaves, canonical rows and proofs of the transparency log."""


def _write(path: str, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")


@command.command("export", help=h("help.checkpoint.export"))
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
@json_option
@click.pass_context
def export(ctx: click.Context, file: str, as_json: bool) -> None:
    """Write the latest signed checkpoint to FILE, to publish where the operator cannot rewrite it alone."""
    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            doc = tlog.latest_checkpoint(conn)
    finally:
        engine.dispose()
    if doc is None:
        refuse("nothing has been published yet, so there is no checkpoint", as_json)
    _write(file, doc)
    if as_json:
        print_json({"ok": True, "file": file, **doc})
    else:
        click.echo(f"checkpoint of size {doc['size']}, root {doc['root_hash']}, key {doc['key_id']} written to {file}")


@command.command("leaves", help=h("help.checkpoint.leaves"))
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
@click.pass_context
def leaves(ctx: click.Context, file: str) -> None:
    """Write every leaf (index, event, manifest, leaf hash) to FILE as a JSON array."""
    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            out, start = [], 0
            while chunk := tlog.leaves(conn, start, 10_000):
                out.extend(chunk)
                start = chunk[-1]["leaf_index"] + 1
    finally:
        engine.dispose()
    _write(file, out)
    click.echo(f"{len(out)} leaves written to {file}")


@command.command("rows", help=h("help.checkpoint.rows"))
@click.argument("batch_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
@click.pass_context
def rows(ctx: click.Context, batch_id: int, file: str) -> None:
    """Write a batch's canonical rows to FILE (one per line), as its manifest's rows_sha256 hashes them."""
    engine = make_engine(database_url(ctx))
    n = 0
    try:
        with reading(engine) as conn, open(file, "w", encoding="utf-8", newline="\n") as f:
            version = tlog.batch_manifest_version(conn, batch_id)  # the columns its leaf was signed with
            for _table, _id, line in canonical_rows(conn, batch_id, version):
                f.write(line + "\n")
                n += 1
    finally:
        engine.dispose()
    click.echo(f"{n} canonical rows of batch {batch_id} written to {file}")


@command.command("prove", help=h("help.checkpoint.prove"))
@click.option("--batch", "batch_id", type=int, help=h("help.checkpoint.prove.batch"))
@click.option("--leaf", "leaf_index", type=int, help=h("help.checkpoint.prove.leaf"))
@click.option("--from-size", type=int, help=h("help.checkpoint.prove.from_size"))
@click.option("--size", type=int, help=h("help.checkpoint.prove.size"))
@database_option
@click.pass_context
def prove(ctx: click.Context, batch_id, leaf_index, from_size, size) -> None:
    """Print an inclusion proof (--batch or --leaf) or a consistency proof (--from-size) as JSON."""
    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            if batch_id is not None:
                leaf_index = tlog.batch_leaf_index(conn, batch_id)
                if leaf_index is None:
                    refuse(f"batch {batch_id} is not in the log", True)
            try:
                if leaf_index is not None:
                    data = tlog.inclusion_proof(conn, leaf_index, size)
                elif from_size is not None:
                    data = tlog.consistency_proof(conn, from_size, size)
                else:
                    raise click.UsageError("give --batch, --leaf or --from-size")
            except merkle.ProofError as exc:
                refuse(str(exc), True)
    finally:
        engine.dispose()
    print_json(data)
