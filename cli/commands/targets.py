"""``sunshine targets load FILE | list``: reduction targets from TOML policy files."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.i18n import t
from ledger.rules.targets import list_targets, load_policy_file
from ledger.store.db import make_engine, reading, writing


@click.group("targets", help=h("help.targets"))
def command() -> None:
    """Load and list reduction targets (policies/*.toml)."""


@command.command("load", help=h("help.targets.load"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--by", "actor", default="cli", show_default=True, help=h("help.targets.by"))
@database_option
@json_option
@click.pass_context
def load(ctx: click.Context, file: str, actor: str, as_json: bool) -> None:
    """Validate FILE and add or update its targets; nothing is loaded when any target has a problem."""
    engine = make_engine(database_url(ctx))
    with writing(engine) as conn:
        result = load_policy_file(conn, file, actor=actor)
    if not result.ok:
        refuse(t("targets.problems", n=len(result.problems), file=result.file) + "\n" + "\n".join(map(str, result.problems)),
               as_json, problems=[vars(p) for p in result.problems])
    if as_json:
        print_json({"ok": True, "file": result.file, "added": result.added, "updated": result.updated,
                    "unchanged": result.unchanged})
    else:
        click.echo(t("targets.loaded", file=result.file, added=len(result.added), updated=len(result.updated),
                     unchanged=len(result.unchanged)))


@command.command("list", help=h("help.targets.list"))
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
    if not targets:
        click.echo(t("targets.none"))
        return
    click.echo(t("targets.header"))
    for x in targets:
        what = x.category_code or (f"group:{x.group_code}" if x.group_code else f"resource:{x.resource}")
        years = f"{x.year_from or ''}-{x.year_to or ''}"
        scope = "all" if x.scope_kind == "all" else f"{x.scope_kind}:{','.join(x.scope_values)}"
        click.echo(f"{x.id}\t{t('measure.' + x.measure)}\t{what}\t{x.baseline}\t{x.change_pct:+}%\t{years}\t{scope}\t"
                   f"{x.title}")
