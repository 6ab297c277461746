"""``sunshine charts --out DIR [--year Y] [--unit U] [--lang zh|en] [--format png,svg]``."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse


@click.command("charts", help=h("help.charts"))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help=h("help.charts.out"))
@click.option("--year", type=int, default=None, help=h("help.charts.year"))
@click.option("--unit", default=None, metavar="CODE", help=h("help.charts.unit"))
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help=h("help.charts.lang"))
@click.option("--format", "formats", default="png,svg", show_default=True, help=h("help.charts.format"))
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, out: Path, year: int | None, unit: str | None, lang: str, formats: str,
            as_json: bool) -> None:
    """Write every chart as PNG and SVG files into OUT."""
    from charts.build import CHARTS, FORMATS, ChartError, Request, render_chart
    from ledger.i18n import language
    from ledger.store.db import make_engine, reading

    lang = lang or language()
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise click.UsageError(f"--format takes png and/or svg, not {', '.join(bad) or 'nothing'}")
    out.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(ctx))
    written = []
    try:
        with reading(engine) as conn:
            for name in CHARTS:
                # The ranking compares units with each other, so it is always drawn for the region.
                request = Request(name, lang=lang, year=year, unit=None if name == "ranking" else unit)
                stem = name if request.unit is None else f"{name}-{request.unit}"
                for fmt in fmts:
                    path = out / f"{stem}.{fmt}"
                    path.write_bytes(render_chart(conn, request, fmt))
                    written.append(str(path))
    except ChartError as e:
        refuse(str(e), as_json)
    finally:
        engine.dispose()
    if as_json:
        print_json({"ok": True, "files": written})
    else:
        for path in written:
            click.echo(path)
