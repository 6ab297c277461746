"""``sunshine serve``: run the open-data API and pages under uvicorn (SQLite or PostgreSQL)."""

from __future__ import annotations

import copy
import os

import click

from cli.common import database_option, database_url, h


def _shown_host(host: str) -> str:
    """A host a browser can open: the loopback for the wildcard addresses, IPv6 in brackets."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@click.command("serve", help=h("help.serve"))
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help=h("help.serve.host"))
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help=h("help.serve.port"))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help=h("help.serve.workers"))
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help=h("help.serve.access_log"))
@click.option("--behind-proxy", "proxy_ips", default=None, metavar="IPS",
              help=h("help.serve.behind_proxy"))
@click.pass_context
def command(ctx: click.Context, host: str, port: int, workers: int, access_log: bool, proxy_ips: str | None) -> None:
    """Serve the API at /api/v1 (docs at /api/v1/schema) and the public pages."""
    import uvicorn

    from ledger.config import database_url as configured

    url = configured(database_url(ctx))
    # Workers are separate processes that build the app themselves: hand them the URL by environment.
    os.environ["SUNSHINE_DATABASE_URL"] = url
    if host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0") and "SUNSHINE_ALLOWED_HOSTS" not in os.environ:
        os.environ["SUNSHINE_ALLOWED_HOSTS"] = f"127.0.0.1,localhost,::1,{host}"
    site = f"http://{_shown_host(host)}:{port}"
    click.echo(f"Serving {site}/ (public pages) and {site}/api/v1/schema (API docs) "
               f"({url.split('://')[0]}, {workers} worker(s))", err=True)
    from api.middleware.slow_clients import SlowHeaders

    # The app's own lines (the warm-up, streams cut off) beside uvicorn's, in every worker.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["sunshine"] = {"handlers": ["default"], "level": "INFO"}
    uvicorn.run("api.app:create_app", factory=True, http=SlowHeaders, host=host, port=port, workers=workers, log_level="info",
                proxy_headers=bool(proxy_ips), forwarded_allow_ips=proxy_ips, server_header=False,
                access_log=access_log, log_config=log_config)
