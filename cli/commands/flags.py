"""``sunshine flags list | show ID | review ID --to STATE --note TEXT --token T [--internal] | publish ID --token T``.

Who reviews is the holder of a discipline API token (``--token`` or ``SUNSHINE_TOKEN``). ``--by NAME`` is
accepted only while the ledger has no workspace accounts (``sunshine accounts``): once it has, a name
typed on the command line could get round the rule that an importer may not review their own data.
"""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.i18n import language, t
from ledger.review.workflow import STATES, ReviewRefused, publish_finding, record_review, review_history
from ledger.rules.flags import get_flag, list_flags
from ledger.store.db import make_engine, reading, writing


@click.group("flags", help=h("help.flags"))
def command() -> None:
    """Red flags and the discipline commission's review of them."""


@command.command("list", help=h("help.flags.list"))
@click.option("--year", type=int)
@click.option("--rule", "rule_code", help=h("help.flags.rule"))
@click.option("--state", type=click.Choice(STATES))
@click.option("--data-status", type=click.Choice(["active", "resolved_by_data"]))
@click.option("--unit", help=h("help.flags.unit"))
@database_option
@json_option
@click.pass_context
def list_(ctx, year, rule_code, state, data_status, unit, as_json: bool) -> None:
    """Flags, newest year first."""
    with reading(make_engine(database_url(ctx))) as conn:
        flags = list_flags(conn, year=year, rule_code=rule_code, state=state, data_status=data_status, unit=unit)
    if as_json:
        print_json({"flags": flags})
        return
    if not flags:
        click.echo(t("flags.none"))
        return
    en = language() == "en"
    click.echo(t("flags.header"))
    for f in flags:
        message = f["message_en"] if en else f["message_zh"]
        click.echo(f"{f['id'][:12]}  {f['rule_code']:<24} {f['state']:<22} {f['data_status']:<17} {message}")
    click.echo(t("flags.count", n=len(flags)))


def _flag_or_refuse(conn, flag_id: str, as_json: bool) -> dict:
    try:
        flag = get_flag(conn, flag_id)
    except LookupError as exc:
        refuse(str(exc), as_json)
    if flag is None:
        refuse(t("flags.not-found", flag=flag_id), as_json)
    return flag


@command.command("show", help=h("help.flags.show"))
@click.argument("flag_id")
@click.option("--include-restricted", is_flag=True, help=h("help.flags.include-restricted"))
@database_option
@json_option
@click.pass_context
def show(ctx, flag_id: str, include_restricted: bool, as_json: bool) -> None:
    """One flag: figures, threshold, policy, evidence and its review history."""
    with reading(make_engine(database_url(ctx))) as conn:
        flag = _flag_or_refuse(conn, flag_id, as_json)
        flag["reviews"] = [vars(r) for r in review_history(conn, flag["id"], include_restricted=include_restricted)]
    if as_json:
        print_json(flag)
        return
    click.echo(f"{flag['id']}\n{flag['rule_code']} v{flag['rule_version']} · {flag['state']} · {flag['data_status']}")
    click.echo(flag["message_zh"])
    click.echo(flag["message_en"])
    for key in ("figures", "threshold", "policy_ref", "evidence"):
        click.echo(f"{key}: {flag[key]}")
    for r in flag["reviews"]:
        note = r["note"] if r["note"] is not None else t("flags.restricted")
        click.echo(f"  {r['created_at']} {r['reviewer']}: {r['from_state']} → {r['to_state']}: {note}")


def _identity(conn, token: str | None, reviewer: str | None, role: str, as_json: bool) -> tuple[str, str]:
    """(reviewer, role): the token's holder, or ``--by`` while the ledger has no accounts."""
    from ledger.review import accounts, tokens

    if token:
        info = tokens.verify(conn, token.strip())
        if info is None:
            refuse(t("flags.token-unknown"), as_json)
        if info.role != "discipline":
            refuse(t("flags.token-role", role=info.role), as_json)
        return info.name, info.role
    if accounts.list_accounts(conn) or not reviewer:
        refuse(t("flags.needs-identity"), as_json)
    return reviewer, role


@command.command("review", help=h("help.flags.review"))
@click.argument("flag_id")
@click.option("--to", "to_state", required=True, type=click.Choice(STATES[1:]), help=h("help.flags.to"))
@click.option("--note", required=True, help=h("help.flags.note"))
@click.option("--token", envvar="SUNSHINE_TOKEN", default=None, help=h("help.flags.token"))
@click.option("--by", "reviewer", default=None, help=h("help.flags.by"))
@click.option("--role", default="discipline", show_default=True)
@click.option("--internal", is_flag=True, help=h("help.flags.internal"))
@database_option
@json_option
@click.pass_context
def review(ctx, flag_id: str, to_state: str, note: str, token: str | None, reviewer: str | None, role: str,
           internal: bool, as_json: bool) -> None:
    """Move a flag along open → under_review → explained | rectification_ordered | referred | dismissed → closed."""
    with writing(make_engine(database_url(ctx))) as conn:
        flag = _flag_or_refuse(conn, flag_id, as_json)
        reviewer, role = _identity(conn, token, reviewer, role, as_json)
        try:
            entry = record_review(conn, flag["id"], to_state, note=note, reviewer=reviewer, role=role,
                                  visibility="internal" if internal else "public")
        except ReviewRefused as exc:
            refuse(exc.text(), as_json)
    if as_json:
        print_json({"ok": True, **vars(entry)})
    else:
        click.echo(t("flags.reviewed", flag=entry.flag_id[:12], from_state=entry.from_state, to_state=entry.to_state,
                     reviewer=entry.reviewer))


@command.command("publish", help=h("help.flags.publish"))
@click.argument("flag_id")
@click.option("--token", envvar="SUNSHINE_TOKEN", default=None, help=h("help.flags.token"))
@click.option("--by", "reviewer", default=None, help=h("help.flags.by-publish"))
@click.option("--role", default="discipline", show_default=True)
@database_option
@json_option
@click.pass_context
def publish(ctx, flag_id: str, token: str | None, reviewer: str | None, role: str, as_json: bool) -> None:
    """Publish a flag's finding: its public review notes become public (internal ones never do)."""
    with writing(make_engine(database_url(ctx))) as conn:
        flag = _flag_or_refuse(conn, flag_id, as_json)
        reviewer, role = _identity(conn, token, reviewer, role, as_json)
        try:
            n = publish_finding(conn, flag["id"], reviewer=reviewer, role=role)
        except ReviewRefused as exc:
            refuse(exc.text(), as_json)
    if as_json:
        print_json({"ok": True, "flag_id": flag["id"], "published_reviews": n})
    else:
        click.echo(t("flags.published", flag=flag["id"][:12], n=n))
