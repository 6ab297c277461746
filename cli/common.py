"""Options and output shared by every subcommand.

Exit codes: 0 success, 1 the input or data was refused, 2 usage error (click's own).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from collections.abc import Callable

import click

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


def h(msgid: str) -> str:
    """A help text from the catalogue, in the language in force when the command module loads (``sunshine
    --lang`` is applied while the root options are parsed, before any subcommand module is imported)."""
    from ledger.i18n import t

    return t(msgid)


def database_option(f: Callable) -> Callable:
    """``--database URL`` on a subcommand; falls back to the root option and the environment."""

    def _store(ctx: click.Context, _param, value):
        if value:
            ctx.ensure_object(dict)
            ctx.find_root().obj["database"] = value
        return value

    return click.option(
        "--database",
        "database_override",
        metavar="URL",
        default=None,
        expose_value=False,
        callback=_store,
        help=h("help.database"),
    )(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help=h("help.json"))(f)


def database_url(ctx: click.Context) -> str | None:
    obj = ctx.find_root().obj or {}
    return obj.get("database")


def _default(o):
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, set | frozenset | tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def print_json_stream(head: dict, key: str, items, *, encoded: bool = False) -> None:
    """``head`` with ``key`` holding every item of the iterable ``items``, written as they come.

    For lists of hundreds of thousands (a national check's target results): memory stays bounded, and each
    item is one line, encoded by the C encoder (an indented document is encoded in pure Python).
    ``encoded``: the items are already JSON text (``ledger.rules.bulk.result_lines``), written as they are.
    """
    text = json.dumps(head, ensure_ascii=False, indent=2, default=_default)
    out = sys.stdout
    out.write((text[:-2] + ",\n") if head else "{\n")
    out.write(f'  {json.dumps(key)}: [')
    first = True
    for item in items:
        text = item if encoded else json.dumps(item, ensure_ascii=False, default=_default)
        out.write(("\n    " if first else ",\n    ") + text)
        first = False
    out.write("]\n}\n" if first else "\n  ]\n}\n")


def refuse(message: str, as_json: bool = False, **extra) -> None:
    """Stop with exit code 1 and a plain message (as JSON with ``--json``)."""
    if as_json:
        print_json({"ok": False, "error": message, **extra})
    else:
        from ledger.i18n import t

        click.echo(t("cli.error", message=message), err=True)
    sys.exit(EXIT_REFUSED)
