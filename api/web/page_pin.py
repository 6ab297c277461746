"""Pages as of a checkpoint: ``?as_of=`` pins a page's reads, a banner says so, and its links keep it.

Every public page takes ``as_of`` (``api.middleware.strict`` lets it through to handlers named
``page-…``); ``pages.page_reading`` pins the reads (``api.respond.pinned_to``). The rendered page's
own links, chart images and GET forms keep the parameter (``keep_as_of``, a template filter around the
whole body), so a reader who follows a link stays at the same checkpoint until they choose the
current data.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from markupsafe import Markup

from api import respond
from ledger import i18n

# our own links and images: a path on this site, not the static files, the font or the API schema
_LINK = re.compile(r'(\s(?:data-current="1"\s+)?(?:href|src)=")(/(?!static/|fonts/|api/v1/schema)[^"#]*)((?:#[^"]*)?")')


def keep_as_of(html: str, size: int | None) -> Markup:
    """``html`` with ``as_of=size`` added to each of our links and images and to each GET form (as a hidden field)."""
    if not size:
        return Markup(html)

    def add(m: re.Match) -> str:
        url = m.group(2)
        if "as_of=" in url or "data-current" in m.group(1):  # the banner's link to the current data
            return m.group(0)
        return f"{m.group(1)}{url}{'&amp;' if '?' in url else '?'}as_of={size}{m.group(3)}"

    html = _LINK.sub(add, str(html))
    html = html.replace("</form>", f'<input type="hidden" name="as_of" value="{size}"></form>')
    return Markup(html)


def banner(request: Request, lang: str) -> dict[str, Any] | None:
    """The banner of a page read ``as_of`` a checkpoint: which one, its root, and a link to the current data."""
    cp = respond.checkpoint_of(request)
    if cp is None:
        return None
    kept = respond.query_pairs(request, "as_of")
    current = request.url.path + ("?" + urlencode(kept) if kept else "")
    return {"size": cp["size"], "root_hash": cp["root_hash"], "time": cp["time"],
            "text": i18n.t("asof.banner", lang, size=cp["size"], root=cp["root_hash"][:16], time=cp["time"]),
            "current_text": i18n.t("asof.current", lang), "current_url": current}


def register(engine) -> None:
    """Template engine callback: the ``keep_as_of`` filter."""
    engine.engine.filters["keep_as_of"] = keep_as_of
