"""Unknown query parameters are refused (400) everywhere, pages and API alike.

A misspelt filter (``?yaer=2023``) or one an endpoint does not have (``?q=`` on ``/expenses``) would
otherwise be ignored and the whole table returned as if it had been applied. The parameters a route
takes are the ones its handler and dependencies declare (Litestar's kwargs model), read once per route.
"""

from __future__ import annotations

from litestar import Request

from ledger.read.queries import QueryError


def known_parameters(request: Request) -> frozenset[str]:
    # Cached per application: its handlers live as long as it does, so an id() is never reused for
    # another handler (a cache shared across applications once answered for a dead app's handler).
    known = request.app.state.setdefault("strict_parameters", {})
    handler = request.scope["route_handler"]
    path = tuple(sorted(request.path_params))
    key = (id(handler), path)
    names = known.get(key)
    if names is None:
        model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path))
        names = frozenset(p.field_alias for p in model.expected_query_params)
        if (handler.name or "").startswith("page-"):  # every public page reads through pages.page_reading
            names |= {"as_of"}
        known[key] = names
    return names


def refuse_unknown(request: Request) -> None:
    """Raise ``QueryError`` naming the first query parameter the route does not take."""
    if not request.scope.get("query_string"):
        return
    known = known_parameters(request)
    for name in request.query_params:
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise QueryError(name, f"is not a parameter of this endpoint (it takes: {takes})")


async def before_request(request: Request) -> None:
    refuse_unknown(request)
