"""The web workspaces: sign-in, the finance bureau's imports, the discipline commission's reviews,
and the admin's accounts. Server-rendered, no JavaScript, under ``/workspace``.

Every page needs a signed-in account (``api.workspace.session``); every form carries the session's
CSRF token; every write goes through the same ledger and importer functions as the CLI and the API,
with the account's username as the actor.
"""

from litestar import Router

from api.workspace import admin, finance, login, review, session

routes = [Router(path="/workspace", route_handlers=[*login.routes, *finance.routes, *review.routes, *admin.routes],
                 exception_handlers=session.EXCEPTION_HANDLERS)]
