"""Rendering for the dashboard: the full page, or only the fragment when htmx asks for it."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from jinja2_fragments.quart import render_block
from quart import Blueprint, Response, flash, g, redirect, render_template
from quart.typing import ResponseReturnValue

from portal import audit_events, catalogue, clock, user_agents
from portal.admin.access import is_htmx


async def render(
    template: str, *, block: str | None = None, status: int = 200, **context: Any
) -> Response:
    """`block` is what an htmx request gets; a plain request always gets the whole page."""
    staff = g.get("staff")
    context.setdefault("staff", staff)
    context.setdefault("can_change", staff is not None and staff.role == "admin")
    if block and is_htmx():
        body = await render_block(template, block, fragment=True, **context)
    else:
        body = await render_template(template, **context)
    response = Response(body, status=status)
    response.vary.add("HX-Request")
    return response


async def done(
    url: str, message: str, fragment: Callable[[], Awaitable[Response]] | None = None
) -> ResponseReturnValue:
    """After a change: htmx gets the updated fragment plus the message swapped in out of band
    (or, with no fragment, is sent to `url`); a plain form gets a redirect to `url`
    (post/redirect/get) and the message as a flash."""
    if is_htmx() and fragment is not None:
        response = await fragment()
        notice = await render_template("admin/_flash_oob.html", message=message)
        response.set_data(await response.get_data(as_text=True) + notice)
        return response
    await flash(message, "success")
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, 303)


filters = Blueprint("admin_filters", __name__)


@filters.app_template_filter("when")
def when(moment: datetime | None) -> str:
    """`27 Nov 2026, 14:05` in UTC, the time zone of every dashboard page and export."""
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M") if moment else ""


@filters.app_template_filter("to_the_second")
def to_the_second(moment: datetime | None) -> str:
    """`27 Nov 2026, 14:05:09` in UTC: the audit log's times, where seconds tell events apart."""
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M:%S") if moment else ""


@filters.app_template_filter("plural")
def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1|plural("event")` -> "1 event"; `1200` -> "1,200 events"."""
    return f"{count:,} {singular if count == 1 else many or singular + 's'}"


@filters.app_template_filter("browser")
def browser(user_agent: str | None) -> str:
    return user_agents.browser_name(user_agent)


@filters.app_template_filter("field_label")
def field_label(field: str) -> str:
    """A catalogue field as staff read it: `PaidThrough` -> "Paid through"."""
    return catalogue.label(field)


@filters.app_template_filter("member_type")
def member_type(code: str | None) -> str:
    """A member type by its meaning where known: `REG` -> "Regular (REG)"."""
    return catalogue.code_meaning(code, catalogue.MEMBER_TYPES) or ""


@filters.app_template_filter("field_description")
def field_description(field: str) -> str:
    """Its one-line meaning (the same words vendors read in the user service's documentation)."""
    return catalogue.DESCRIPTIONS.get(field, "")


@filters.app_template_global("describe_event")
def describe_event(event: Any, names: dict[str, str]) -> audit_events.Described:
    """An AuditEvent in words, its vendor by name (`names`: vendor key -> name)."""
    key = event.vendor_key
    return audit_events.describe(event.event, event.outcome, event.details, names.get(key, key))


@filters.app_template_filter("ago")
def ago(moment: datetime | None) -> str:
    """`5 minutes ago` for the last month, the date before that."""
    if moment is None:
        return ""
    seconds = int((clock.now() - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds >= 30 * 86400:
        return when(moment)
    n, unit = next((seconds // size, unit) for unit, size in UNITS if seconds >= size)
    return f"{n} {unit}{'s' * (n != 1)} ago"


UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))
