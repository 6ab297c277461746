"""``/api/v1/unit-costs``: each unit's cost per delegation, traveller, vehicle held, reception batch, guest
and meeting day, beside its peer group's median and fence (``ledger.rules.flag_rules_costs``)."""

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.openapi.spec import Example
from litestar.params import QueryParameter

from api import params, respond
from api.formats import negotiate
from ledger import i18n
from ledger.read.queries import QueryError
from ledger.rules.flag_rules_costs import METRICS, skipped_currencies, unit_cost_table
from ledger.rules.thresholds import ConfigError, load_flag_config

FIELDS = [("unit_code", "string"), ("unit_name", "string"), ("fiscal_year", "integer"), ("metric", "string"),
          ("metric_zh", "string"), ("metric_en", "string"), ("category_code", "string"), ("level", "string"),
          ("kind", "string"), ("peer_group_zh", "string"), ("peer_group_en", "string"),
          ("unit_cost_fen", "integer"), ("amount_fen", "integer"), ("count", "integer"), ("basis", "string"),
          ("peer_group_size", "integer"), ("peer_q1_fen", "integer"), ("peer_median_fen", "integer"),
          ("peer_q3_fen", "integer"), ("history_years", "integer"), ("history_median_fen", "integer"),
          ("fence_fen", "integer"), ("flagged", "boolean")]


def _read(request: Request, year: int | None, unit: str | None, metric: str | None) -> tuple[dict, list[dict], list]:
    try:
        config = load_flag_config()
    except ConfigError as exc:  # the thresholds are the server's configuration, not the caller's mistake
        detail = " / ".join(i18n.t("unit_costs.no_config", lang, reason=str(exc)) for lang in ("zh", "en"))
        raise HTTPException(status_code=503, detail=detail) from None
    with respond.read(request) as conn:
        try:
            rows = unit_cost_table(conn, config, year=year, unit_code=unit, metric=metric)
        except ValueError as exc:
            raise QueryError("metric", str(exc)) from None
        skipped = skipped_currencies(conn, year)
    return config["unit_cost_outlier"], rows, skipped


@get("/unit-costs", tags=["data"], summary="Unit costs beside their peer group's median and fence")
async def unit_costs(
    request: Request,
    year: Annotated[int | None, QueryParameter(description="Fiscal year (every year when omitted)", ge=1900, le=2200,
                                               examples=[Example(summary="2024", value=2024)])] = None,
    unit: Annotated[str | None, QueryParameter(description="Unit code (单位编码)")] = None,
    metric: Annotated[str | None, QueryParameter(description=f"One of {', '.join(METRICS)}",
                                                 schema_extra={"enum": list(METRICS)})] = None,
    format: Annotated[str | None, QueryParameter(description="json (default), csv or ndjson")] = None,
    as_of: params.AsOfQ = None,  # read by api.respond.read, which pins the reads to that checkpoint
) -> Response[dict[str, Any]]:
    """One row per unit, year and metric that states a count (团组数, 人次, 保有量, 接待批次, 天数): the cost in
    fen (amount over count, rounded half up), and ``basis``: ``peers`` (units of the same level and kind
    (单位性质; units of no stated kind are a group of their own), same year, named by ``peer_group_zh`` / ``_en``:
    ``peer_group_size``, quartiles, median and ``fence_fen`` = Q3 + k × IQR), ``history`` (too few peers: the
    median of the unit's own previous years and its fence) or ``none`` (too little of either: not judged).
    ``flagged`` is true exactly where the ``unit_cost_outlier`` flag is raised. Only CNY amounts are compared:
    ``skipped`` counts, per other currency, the entries stating a count that were left out. ``thresholds`` are those of
    ``[flags.unit_cost_outlier]`` in ``sunshine.toml``."""
    fmt = negotiate(request, format)
    thresholds, rows, skipped = await respond.blocking(request, _read, request, year, unit, metric)
    body = {"thresholds": thresholds, "data": rows, "skipped": skipped, **respond.meta(request)}
    return respond.table(request, fmt, FIELDS, [tuple(r.get(n) for n, _ in FIELDS) for r in rows], body)


routes = [unit_costs]
