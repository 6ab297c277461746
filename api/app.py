"""The app factory: routes, problem details, HTTP manners (hosts, CORS, caching, gzip, limits).

``create_app()`` reads its settings from the environment (``api.settings``); ``sunshine serve``
runs it under uvicorn. The charts-and-pages engineer's ``api.web.pages.routes`` and
``api.routes.chart_routes.routes`` are mounted when those modules exist, with Jinja templates from
``api/templates``.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from litestar import Litestar, Request, Router, get
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from api import openapi_problems, problems, schemas, warm
from api.middleware import guards, http_cache, streams, strict
from api.middleware.hosts import AllowedHosts
from api.middleware.ratelimit import RateLimit
from api.middleware.security_headers import SecurityHeaders
from api.routes import routes_admin, routes_costs, routes_data, routes_downloads, routes_search
from api.settings import Settings
from ledger import __version__
from ledger.read.queries import data_version
from ledger.store.db import get_engine, reading

API = "/api/v1"
HERE = Path(__file__).resolve().parent


@get("/health", sync_to_thread=True, tags=["meta"], summary="Liveness and the data version")
def health(request: Request) -> schemas.Health:
    with reading(request.app.state.engine) as conn:
        version, _ = data_version(conn)
    return schemas.Health(ok=True, version=__version__, data_version=version)


def _optional_routes(module: str) -> list:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return []
    return list(getattr(mod, "routes", []))


async def _api_before_request(request: Request):
    strict.refuse_unknown(request)
    return await http_cache.before_request(request)


DOCS_ASSETS = "/static/vendor/swagger-ui"


def _swagger_offline() -> SwaggerRenderPlugin:
    """Swagger UI 5 vendored under ``api/static/vendor/swagger-ui`` (Apache-2.0, see its README): no CDN."""
    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
        # The pages' own CJK web font, so the Chinese in titles and descriptions shows on any machine.
        style="<style>@font-face { font-family: 'Sunshine CJK'; src: local('Noto Sans CJK SC'), "
              "url('/fonts/NotoSansCJKsc-Regular.otf') format('opentype'); } body { margin: 0; padding: 0 } "
              ".swagger-ui .info .title, .swagger-ui .info p, .swagger-ui .info li, .swagger-ui .opblock-tag, "
              ".swagger-ui .opblock-summary-description, .swagger-ui .markdown p, .swagger-ui .renderedMarkdown p, "
              ".swagger-ui table td, .swagger-ui .parameter__name { font-family: sans-serif, 'Sunshine CJK' "
              "!important; }</style>",
    )


def create_app(database_url: str | None = None, settings: Settings | None = None) -> Litestar:
    """Build the Litestar app for ``database_url`` (else ``SUNSHINE_DATABASE_URL``)."""
    settings = settings or Settings.from_env(database_url)
    engine = get_engine(settings.database_url or database_url)

    api = Router(
        path=API,
        route_handlers=[health, *routes_data.routes, *routes_search.routes, *routes_costs.routes, *routes_downloads.routes, *routes_admin.routes,
                        *_optional_routes("api.routes.routes_write"), *_optional_routes("api.routes.log_routes")],
        before_request=_api_before_request,
    )
    handlers: list = [api, *_optional_routes("api.web.pages"), *_optional_routes("api.web.pages_portal"),
                      *_optional_routes("api.web.pages_drill"), *_optional_routes("api.web.pages_compare"),
                      *_optional_routes("api.routes.chart_routes"), *_optional_routes("api.workspace")]

    template_config = None
    if (HERE / "templates").is_dir():
        from litestar.plugins.jinja import JinjaTemplateEngine
        from litestar.template.config import TemplateConfig

        from api.web.page_pin import register

        template_config = TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine,
                                         engine_callback=register)

    app = Litestar(
        route_handlers=handlers,
        exception_handlers={Exception: problems.handle},
        before_request=strict.before_request,
        # Browsers on other origins may read; writes carry tokens and get no CORS at all.
        cors_config=CORSConfig(allow_origins=settings.cors_origins, allow_methods=["GET", "HEAD", "OPTIONS"],
                               allow_headers=["Accept", "If-None-Match", "If-Modified-Since"],
                               expose_headers=["ETag", "Last-Modified", "Link", "X-Total-Count", "X-Total-Exact", "Retry-After",
                                               "X-Coverage", "X-Checkpoint-Size", "X-Checkpoint-Root"],
                               allow_credentials=False, max_age=600),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=5),
        request_max_body_size=settings.max_body_bytes,
        middleware=[
            SecurityHeaders,
            DefineMiddleware(AllowedHosts, hosts=settings.allowed_hosts),
            DefineMiddleware(RateLimit, limit=settings.rate_limit, window_s=settings.rate_window_s),
        ],
        openapi_config=OpenAPIConfig(
            title="Sunshine Ledger (阳光账本) open-data API",
            version=__version__,
            description="Public spending and the three public expenses (三公经费): budgets, actual spending, "
            "procurement, targets and red flags. Money is integer fen, with exact decimal yuan strings beside it. "
            "Every list is also CSV (UTF-8 with BOM) and NDJSON via ?format= or Accept. Errors are RFC 9457 "
            "problem details.",
            path=f"{API}/schema",
            render_plugins=[_swagger_offline()],
            create_examples=False,
            tags=[Tag(name="data"), Tag(name="aggregate"), Tag(name="reports"), Tag(name="downloads"),
                  Tag(name="writes"), Tag(name="admin"), Tag(name="meta"),
                  Tag(name="log", description="The transparency log: signed checkpoints, leaves, proofs, canonical rows")],
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        template_config=template_config,
        debug=settings.debug,
        logging_config=None,
        on_startup=[warm.warm],  # before uvicorn accepts a connection (``SUNSHINE_WARM``)
    )
    app.state.engine = engine
    app.state.inline_reads = engine.dialect.name == "sqlite"
    app.state.settings = settings
    app.state.versions = http_cache.Versions(settings.version_ttl_s)
    app.state.responses = http_cache.Responses()
    app.state.streams = streams.Slots(settings.stream_max)
    # Outside Litestar's routing: a HEAD must become a GET before a route is chosen, and a NUL byte
    # must be refused before any route parses it. KeepTransport goes outside Guards: it must see the
    # server's own ``send`` (Guards wraps it) to find the transport a cut-off download resets.
    app.asgi_handler = http_cache.Landing(streams.KeepTransport(guards.Guards(app.asgi_handler)), app.state.responses)
    logging.getLogger("sunshine.api").setLevel(logging.INFO)
    openapi_problems.document_problems(app)
    return app
