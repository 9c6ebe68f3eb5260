"""The vendor page's data: settings, domains, returned fields with the live preview, secrets and
integration. Every vendor view renders this page, or one block of it for htmx."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quart import Response, request
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import (
    clock,
    db,
    front_ends,
    logout_notices,
    members,
    settings,
    sign_in_methods,
    single_logout,
    vendor_rules,
    vendor_secrets,
    vendors,
)
from portal.admin import integration, vendor_access_page
from portal.admin.pages import render
from portal.catalogue import CATALOGUE
from portal.errors import PortalError
from portal.front_ends import FrontEnd
from portal.models import Member, Vendor, id_of
from portal.vendor_rules import FieldChoice

TEMPLATE = "admin/vendors/detail.html"
PREVIEW_OPTIONS = 20  # the members offered to preview with


@dataclass(frozen=True)
class FieldRow:
    field: str
    selected: bool
    output_name: str


@dataclass(frozen=True)
class Draft:
    """The returned-fields form as submitted: the rows to show again, and the selection."""

    rows: list[FieldRow]
    choices: list[FieldChoice]


def saved_rows(choices: list[FieldChoice]) -> list[FieldRow]:
    """Chosen fields first, in their order; then the rest of the catalogue."""
    chosen = {c.field for c in choices}
    rows = [FieldRow(c.field, True, c.output_name or "") for c in choices]
    return rows + [FieldRow(name, False, "") for name in CATALOGUE if name not in chosen]


def read_draft(form: MultiDict[str, str]) -> Draft:
    """Parse the fields form: `order` lists every row as shown, `fields` the ticked ones,
    `output_<Field>` the output names, and a `move` button (`up:Field`) reorders one row."""
    order = list(dict.fromkeys(f for f in form.getlist("order") if f in CATALOGUE))
    order += [name for name in CATALOGUE if name not in order]
    direction, _, moved = form.get("move", "").partition(":")
    if moved in order and direction in ("up", "down"):
        i = order.index(moved)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
    ticked = form.getlist("fields")
    rows = [FieldRow(f, f in ticked, form.get(f"output_{f}", "").strip()[:100]) for f in order]
    unknown = [FieldChoice(f[:40]) for f in ticked if f not in CATALOGUE]
    choices = [FieldChoice(r.field, r.output_name or None) for r in rows if r.selected]
    return Draft(rows, choices + unknown)


@dataclass(frozen=True)
class Sent:
    """What one front end would send the vendor, as JSON (its registration's `VendorPage`)."""

    id: str
    label: str
    json: str
    note: str


@dataclass
class Preview:
    member: Member | None = None
    error: str | None = None
    query: str = ""
    draft: bool = False
    options: list[Member] = field(default_factory=list)
    # Each front end's, the vendor's own first (marked as what it uses).
    sent: list[Sent] = field(default_factory=list)


def own_first(vendor: Vendor) -> list[FrontEnd]:
    own = front_ends.named(vendor.protocol)
    return [own, *(f for f in front_ends.registered() if f is not own)]


async def preview(
    db_session: AsyncSession,
    vendor: Vendor,
    choices: list[FieldChoice],
    query: str,
    *,
    draft: bool,
) -> Preview:
    """The exact JSON each front end would send (Enhanced SSO's user service, OpenID Connect's
    UserInfo …), as its registration makes it."""
    result = Preview(query=query, draft=draft)
    result.options = await members.select_first_members(db_session, PREVIEW_OPTIONS)
    if query.strip():
        result.member = await members.find_member(db_session, query)
    else:  # nothing typed: the first member
        result.member = result.options[0] if result.options else None
    if result.member is None:
        result.error = f"No member matches “{query[:80]}”." if query.strip() else None
        return result
    try:
        checked = vendor_rules.check_fields(choices)
    except PortalError as exc:
        result.error = f"This selection cannot be sent: {exc}."
        return result
    selection = [(c.field, c.output) for c in checked]
    for front_end in own_first(vendor):
        shown = front_end.vendor_page
        if shown.preview is None:
            continue
        found = json.dumps(
            shown.preview(vendor, result.member, selection), indent=2, ensure_ascii=False
        )
        uses = " (what it uses)" if front_end.name == vendor.protocol else ""
        result.sent.append(
            Sent(shown.preview_id, shown.preview_label + uses, found, shown.preview_note)
        )
    return result


async def context(
    db_session: AsyncSession,
    key: str,
    *,
    draft: Draft | None = None,
    member: str = "",
    access: vendor_access_page.Draft | None = None,
    access_member: str = "",
) -> dict[str, Any]:
    vendor = await vendors.get_vendor(db_session, key)
    saved = await vendors.select_fields(db_session, vendor)
    secrets = await vendor_secrets.select_recent(db_session, vendor)
    # Never the request's Host, which any client chooses: what the vendor is told to call.
    base = settings.current().public_origin(request.host_url.rstrip("/"))
    method = await sign_in_methods.values_of(db_session, vendor)
    issuer = settings.current().issuer_for(request.host_url.rstrip("/"))
    now = clock.now()
    own_page = front_ends.named(vendor.protocol).vendor_page
    attention = await front_ends.attention(db_session, [vendor], now)
    return {
        **sign_in_method(vendor, issuer, method),
        **await own_page.integration_details(db_session, vendor, now),
        "attention": attention.get(id_of(vendor), []),
        "own_settings": front_ends.named(vendor.protocol).vendor_settings,
        "own_details": front_ends.named(vendor.protocol).vendor_settings.details,
        "my_sites_choices": vendor_rules.MY_SITES_CHOICES,
        "vendor": vendor,
        "domains": await vendors.select_domains(db_session, vendor),
        "rows": draft.rows if draft else saved_rows(saved),
        "preview": await preview(
            db_session, vendor, draft.choices if draft else saved, member, draft=draft is not None
        ),
        "access": await vendor_access_page.card(db_session, vendor, access, access_member),
        "secrets": secrets,
        "active_secrets": sum(1 for s in secrets if s.revoked_at is None),
        "deliveries": await single_logout.recent_deliveries(db_session, id_of(vendor)),
        "own_sign_out": await own_sign_out(db_session, vendor),
        "sending_notices": logout_notices.sending(settings.current()),
        "endpoints": integration.endpoints(base, vendor.key),
        "samples": integration.samples(base, vendor.key),
        "errors": {},
        "fields_status": None,
        "values": {},
        "new_secret": None,
    }


def sign_in_method(vendor: Vendor, issuer: str, method: dict[str, Any]) -> dict[str, Any]:
    """The sign-in method card — the registered front ends, each with its own settings' fields
    (portal/front_ends.py) — and what its front end shows on the vendor page (its Integration
    tab's partial and variables, its words)."""
    own = front_ends.named(vendor.protocol)
    return {
        "method": method,
        "method_values": None,
        "sign_in_methods": front_ends.listed(),
        "protocols": front_ends.labels(),
        "development": settings.current().development,
        "own_page": own.vendor_page,
        **own.vendor_page.integration_context(issuer, vendor.key, method),
    }


async def render_vendor(
    key: str,
    *,
    block: str | None = None,
    status: int = 200,
    draft: Draft | None = None,
    member: str = "",
    access: vendor_access_page.Draft | None = None,
    access_member: str = "",
    **extra: Any,
) -> Response:
    async with db.transaction() as db_session:
        values = await context(
            db_session, key, draft=draft, member=member, access=access, access_member=access_member
        )
    return await render(TEMPLATE, block=block, status=status, **{**values, **extra})


async def attention(
    db_session: AsyncSession, found: list[Vendor], now: datetime
) -> dict[int, list[str]]:
    """What staff must act on about each vendor, for the vendor list and the overview: its
    front end's words, and whether members who sign out elsewhere stay signed in there."""
    needs = await front_ends.attention(db_session, found, now)
    not_told = single_logout.not_told(found, told_its_own_way=tells_its_own_way)
    for vendor_id, words in not_told.items():
        needs[vendor_id] = [*needs.get(vendor_id, []), *words]
    return needs


def tells_its_own_way(vendor: Vendor) -> bool:
    """Its front end tells it of a sign-out in its own terms (SAML's single logout)."""
    return front_ends.named(vendor.protocol).vendor_page.sign_out_words is not None


async def own_sign_out(db_session: AsyncSession, vendor: Vendor) -> str | None:
    """How the vendor's front end tells it of a sign-out its own way, in staff words, if it does."""
    words = front_ends.named(vendor.protocol).vendor_page.sign_out_words
    return None if words is None else await words(db_session, vendor)
