"""``sunshine targets load FILE | list``: reduction targets from TOML policy files."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, json_option, print_json, refuse
from ledger.rules.targets import list_targets, load_policy_file
from ledger.store.db import make_engine, reading, writing


@click.group("targets")
def command() -> None:
    """Load and list reduction targets (policies/*.toml)."""


@command.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--by", "actor", default="cli", show_default=True, help="Who loads the policy (for the audit log).")
@database_option
@json_option
@click.pass_context
def load(ctx: click.Context, file: str, actor: str, as_json: bool) -> None:
    """Validate FILE and add or update its targets; nothing is loaded when any target has a problem."""
    engine = make_engine(database_url(ctx))
    with writing(engine) as conn:
        result = load_policy_file(conn, file, actor=actor)
    if not result.ok:
        refuse(f"{len(result.problems)} problem(s) in {result.file}:\n" + "\n".join(map(str, result.problems)),
               as_json, problems=[vars(p) for p in result.problems])
    if as_json:
        print_json({"ok": True, "file": result.file, "added": result.added, "updated": result.updated,
                    "unchanged": result.unchanged})
    else:
        click.echo(f"{result.file}: {len(result.added)} added, {len(result.updated)} updated, "
                   f"{len(result.unchanged)} unchanged")


@command.command("list")
@database_option
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every loaded target."""
    engine = make_engine(database_url(ctx))
    with reading(engine) as conn:
        targets = list_targets(conn)
    if as_json:
        print_json({"targets": [t.to_dict() for t in targets]})
        return
    for t in targets:
        what = t.category_code or (f"group:{t.group_code}" if t.group_code else f"resource:{t.resource}")
        years = f"{t.year_from or ''}-{t.year_to or ''}"
        scope = "all" if t.scope_kind == "all" else f"{t.scope_kind}:{','.join(t.scope_values)}"
        click.echo(f"{t.id}\t{t.measure}\t{what}\t{t.baseline}\t{t.change_pct:+}%\t{years}\t{scope}\t{t.title}")
