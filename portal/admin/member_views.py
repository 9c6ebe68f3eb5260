"""Members: search, add, edit, disable, set a password, unlock a throttled account; the member
page (its password-reset email is member_reset_link_views.py, its sessions' "End"
session_views.py)."""

from typing import Any

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal import (
    audit,
    clock,
    db,
    front_ends,
    good_standing,
    member_status,
    members,
    recovery,
    session_cookies,
    settings,
    vendor_access,
    vendors,
)
from portal.admin.access import actor, record, staff_required
from portal.admin.pages import done, render
from portal.auth import sessions, throttle
from portal.errors import InvalidField, NotFound, PortalError
from portal.ids import int_argument
from portal.members import MemberData
from portal.models import Member, id_of

blueprint = Blueprint("admin_members", __name__)
PAGE_SIZE = 50
MAX_PAGE = 10_000  # 500,000 members deep: further is a search, not a page
DETAIL = "admin/members/detail.html"
# The member form, section by section: (field, label, input type).
SECTIONS: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("Sign-in", [("imis_id", "iMIS ID", "text"), ("username", "Username", "text"),
                 ("email", "Email", "email")]),
    ("Name", [("prefix", "Prefix", "text"), ("first_name", "First name", "text"),
              ("last_name", "Last name", "text"), ("suffix", "Suffix", "text"),
              ("full_name", "Full name", "text"), ("informal_name", "Informal name", "text"),
              ("designation", "Designation", "text")]),
    ("Work and contact", [("company", "Company", "text"), ("title", "Title", "text"),
                          ("phone", "Phone", "tel"), ("address1", "Address", "text"),
                          ("city", "City", "text"), ("state", "State", "text"),
                          ("postal_code", "Postal code", "text"), ("country", "Country", "text")]),
    ("Membership", [("member_type", "Member type", "text"),
                    ("member_status", "Status code", "text"),
                    ("join_date", "Joined", "date"), ("paid_through", "Paid through", "date")]),
]  # fmt: skip


def throttle_keys(member: Member) -> list[str]:
    return throttle.member_keys(member.username, member.email)


def read_form(form: MultiDict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "").strip()[:500] for name in MemberData.model_fields}


def parse(values: dict[str, str]) -> MemberData:
    """A blank field is no value: cleared on edit, defaulted on add."""
    return members.parse_member({k: v for k, v in values.items() if v})


def throttle_policy() -> throttle.Policy:
    return throttle.Policy.from_settings(settings.current())


@blueprint.get("/admin/members")
@staff_required()
async def member_list() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()[:200]
    status = member_status.parse_filter(request.args.get("status", ""))
    page = int_argument(request.args, "page", maximum=MAX_PAGE) or 1
    offset = (page - 1) * PAGE_SIZE
    now, policy = clock.now(), throttle_policy()
    terms = good_standing.terms(settings.current(), now)
    where = member_status.condition(status, terms=terms, policy=policy, now=now) if status else None
    async with db.transaction() as s:
        found = await members.search_members(s, q, limit=PAGE_SIZE + 1, offset=offset, where=where)
        locks = await throttle.account_states(
            s, {id_of(m): throttle_keys(m) for m in found}, now=now, policy=policy
        )
    return await render(
        "admin/members/list.html",
        block="results",
        members=found[:PAGE_SIZE],
        badges={
            id_of(m): member_status.badges(m, terms=terms, lock=locks.get(id_of(m))) for m in found
        },
        statuses=member_status.FILTERS,
        chosen=status or "",
        q=q,
        page=page,
        more=len(found) > PAGE_SIZE,
    )


@blueprint.get("/admin/members/new")
@staff_required("admin")
async def new_member() -> ResponseReturnValue:
    return await render("admin/members/new.html", sections=SECTIONS, values={}, errors={})


@blueprint.post("/admin/members")
@staff_required()
async def create_member() -> ResponseReturnValue:
    form = await request.form
    values, password = read_form(form), form.get("password", "")
    try:
        data = parse(values)
        async with db.transaction() as s:
            member = await members.add_member(s, data, password or None)
            changed = audit.changes({}, members.data_of(member))
            await record(
                s, "member.created", member_id=member.id, username=member.username, changes=changed
            )
    except PortalError as exc:  # a field, or the password (WeakPassword)
        field = exc.field if isinstance(exc, InvalidField) else "password"
        return await render(
            "admin/members/new.html",
            status=422,
            sections=SECTIONS,
            values=values,
            errors={field: str(exc)},
        )
    return await done(
        f"/admin/members/{member.id}",
        f"{member.username} added.",
        lambda: member_page(id_of(member)),
    )


async def member_context(s: AsyncSession, member: Member) -> dict[str, Any]:
    member_id, now = id_of(member), clock.now()
    locks = await throttle.account_states(
        s, {member_id: throttle_keys(member)}, now=now, policy=throttle_policy()
    )
    live = await sessions.member_sessions(
        s, now=now, policy=session_cookies.policy(), member_id=member_id
    )
    events = await audit.page(s, audit.EventFilter(member_id=member_id), size=8)
    current = settings.current()
    terms = good_standing.terms(current, now)
    return {
        "member": member,
        "lock": locks.get(member_id),
        "badges": member_status.badges(member, terms=terms, lock=locks.get(member_id)),
        "site_access": await vendor_access.for_member(s, member, terms),
        "sessions": live.sessions,
        "reset_link_refused": recovery.why_staff_cannot_send_a_link(
            member, directory=current.directory, mail=bool(current.smtp_url)
        ),
        "reset_link_minutes": recovery.RESET_MINUTES,
        "imis_password_url": current.imis_password_reset_url,
        "offline_sites": await front_ends.lasting_access(s, member_id, now=now),
        "events": events.events,
        "vendor_names": {v.key: v.name for v in await vendors.select_vendors(s)},
        "sections": SECTIONS,
        "values": members.data_of(member),
        "errors": {},
    }


async def member_page(
    member_id: int, *, block: str | None = None, status: int = 200, **extra: Any
) -> Response:
    async with db.transaction() as s:
        context = await member_context(s, await members.get_member(s, member_id))
    return await render(DETAIL, block=block, status=status, **{**context, **extra})


@blueprint.get("/admin/members/<id:member_id>")
@staff_required()
async def member_detail(member_id: int) -> ResponseReturnValue:
    return await member_page(member_id)


@blueprint.post("/admin/members/<id:member_id>")
@staff_required()
async def edit_member(member_id: int) -> ResponseReturnValue:
    values = read_form(await request.form)
    try:
        data = parse(values)
        async with db.transaction() as s:
            member = await members.get_member(s, member_id)
            before = await members.update_member(s, member, data, now=clock.now())
            changed = audit.changes(before, members.data_of(member))
            if changed:
                await record(
                    s,
                    "member.updated",
                    member_id=member_id,
                    username=member.username,
                    changes=changed,
                )
    except InvalidField as exc:
        return await member_page(
            member_id, block="profile", status=422, values=values, errors={exc.field: str(exc)}
        )
    message = "Member saved." if changed else "Nothing to change."
    return await done(
        f"/admin/members/{member_id}", message, lambda: member_page(member_id, block="profile")
    )


async def set_enabled(member_id: int, enabled: bool) -> ResponseReturnValue:
    async with db.transaction() as s:
        member = await members.get_member(s, member_id)
        switch = members.enable if enabled else members.disable
        await switch(s, member, now=clock.now(), by=actor())
    message = (
        f"{member.username} is enabled."
        if enabled
        else f"{member.username} is disabled and signed out everywhere."
    )
    return await done(
        f"/admin/members/{member_id}", message, lambda: member_page(member_id, block="status")
    )


@blueprint.post("/admin/members/<id:member_id>/disable")
@staff_required()
async def disable_member(member_id: int) -> ResponseReturnValue:
    return await set_enabled(member_id, False)


@blueprint.post("/admin/members/<id:member_id>/enable")
@staff_required()
async def enable_member(member_id: int) -> ResponseReturnValue:
    return await set_enabled(member_id, True)


@blueprint.post("/admin/members/<id:member_id>/password")
@staff_required()
async def set_password(member_id: int) -> ResponseReturnValue:
    password = (await request.form).get("password", "")
    try:
        async with db.transaction() as s:
            member = await members.get_member(s, member_id)
            await members.set_password(s, member, password, now=clock.now())
            await record(s, "member.password_set", member_id=member_id, username=member.username)
    except NotFound:
        raise
    except PortalError as exc:  # too short, or a member who signs in with iMIS
        return await member_page(
            member_id, block="password", status=422, errors={"password": str(exc)}
        )
    return await done(
        f"/admin/members/{member_id}",
        "Password set.",
        lambda: member_page(member_id, block="password"),
    )


@blueprint.post("/admin/members/<id:member_id>/unlock")
@staff_required()
async def unlock(member_id: int) -> ResponseReturnValue:
    async with db.transaction() as s:
        member = await members.get_member(s, member_id)
        await throttle.unlock(s, "member", member_id, throttle_keys(member))
        await record(s, "member.unlocked", member_id=member_id, username=member.username)
    return await done(
        f"/admin/members/{member_id}",
        f"{member.username} can sign in again.",
        lambda: member_page(member_id, block="status"),
    )
