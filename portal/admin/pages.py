"""Rendering for the dashboard: the full page, or only the fragment when htmx asks for it."""

from collections.abc import Awaitable, Callable
from typing import Any

from jinja2_fragments.quart import render_block
from quart import Response, flash, g, make_response, redirect, render_template
from quart.typing import ResponseReturnValue

from portal.admin.access import is_htmx


async def render(
    template: str, *, block: str | None = None, status: int = 200, **context: Any
) -> Response:
    """`block` is what an htmx request gets; a plain request always gets the whole page."""
    context.setdefault("staff", g.get("staff"))
    if block and is_htmx():
        body = await render_block(template, block, **context)
    else:
        body = await render_template(template, **context)
    response: Response = await make_response(body, status)
    response.vary.add("HX-Request")
    return response


async def done(
    url: str, message: str, fragment: Callable[[], Awaitable[Response]]
) -> ResponseReturnValue:
    """After a change: htmx gets the updated fragment plus the message swapped in out of band;
    a plain form gets a redirect (post/redirect/get) and the message as a flash."""
    if is_htmx():
        response = await fragment()
        notice = await render_template("admin/_flash_oob.html", message=message)
        response.set_data(await response.get_data(as_text=True) + notice)
        return response
    await flash(message, "success")
    return redirect(url, 303)


def no_store(response: Response) -> Response:
    """For pages that show a secret once: never kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response
