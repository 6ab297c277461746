"""Root of the ``sunshine`` CLI.

Each module in ``cli/commands/`` defines one ``command``; they load lazily so ``sunshine db current``
never pays for importing litestar or matplotlib.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

import cli.commands
from cli.common import h
from ledger import __version__


def _set_language(value: str | None) -> str | None:
    # applied while the root options are parsed, so subcommands load their help in this language
    from ledger.i18n import set_language

    set_language(value)
    return value


def _command_modules() -> dict[str, str]:
    names = {}
    # Commands live in cli/commands/ and its sub-packages (store/, ...): one module per command.
    for mod in pkgutil.walk_packages(cli.commands.__path__, "cli.commands."):
        short = mod.name.rsplit(".", 1)[1]
        if not mod.ispkg and not short.startswith("_"):
            names[short.rstrip("_").replace("_", "-")] = mod.name
    return names


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_command_modules())

    def get_command(self, ctx, name):
        module = _command_modules().get(name)
        if module is None:
            return None
        return importlib.import_module(module).command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sunshine")
@click.option(
    "--database",
    "database",
    envvar="SUNSHINE_DATABASE_URL",
    default=None,
    metavar="URL",
    help=h("help.root.database"),
)
@click.option(
    "--lang",
    "lang",
    envvar="SUNSHINE_LANG",
    type=click.Choice(["zh", "en"]),
    default=None,
    is_eager=True,
    expose_value=True,
    callback=lambda ctx, param, value: _set_language(value),
    help="Language of messages and output: zh (default) or en (default: $SUNSHINE_LANG, else the locale). "
         "输出语言：zh（默认）或 en。",
)
@click.pass_context
def root(ctx: click.Context, database: str | None, lang: str | None) -> None:
    """Sunshine Ledger (阳光账本): public spending and the three public expenses, in the open.

    阳光账本：公开财政支出与“三公”经费。`sunshine --lang en …` for English; 默认中文。
    """
    from ledger.i18n import set_language

    ctx.ensure_object(dict)
    ctx.obj["database"] = database
    set_language(lang)


def main(argv: list[str] | None = None) -> None:
    root.main(args=argv if argv is not None else sys.argv[1:], prog_name="sunshine")


if __name__ == "__main__":
    main()
