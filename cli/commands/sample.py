"""``sunshine sample --out DIR``: write the deterministic sample city (see sample/README.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from cli.common import h, json_option, print_json, refuse
from sample.city import SEED
from sample.write import write_city


@click.command("sample", help=h("help.sample"))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("var/sample"),
              show_default=True, help=h("help.sample.out"))
@click.option("--seed", type=int, default=SEED, show_default=True, help=h("help.sample.seed"))
@json_option
def command(out: Path, seed: int, as_json: bool) -> None:
    """Write a fictional city's budgets, spending, disclosure table, procurement and OCDS feed."""
    try:
        paths = write_city(out, seed)
    except AssertionError as e:  # the generator guards that only planted cases trip a flag
        refuse(f"seed {seed} makes a city whose ordinary data would trip a check ({e}); try another seed", as_json)
    files = [{"file": name, "path": str(path), "bytes": path.stat().st_size,
              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()} for name, path in paths.items()]
    if as_json:
        print_json({"ok": True, "seed": seed, "out": str(out), "files": files})
        return
    for f in files:
        click.echo(f"{f['path']}  {f['bytes']:>9} bytes  {f['sha256'][:12]}")
