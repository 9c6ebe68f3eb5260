"""The member's own account page, /account (Keycloak's account console, in plain words): their
sites, where they are signed in — each other browser signed out on its own, or every one at once
— their password, and a download of what the portal holds about them. The rules are
portal/member_account.py and portal/member_data.py; every action is audited there or here."""

import json
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, current_app, flash, redirect, render_template, request
from quart.typing import ResponseReturnValue

from portal import (
    audit,
    clock,
    db,
    member_account,
    member_data,
    members,
    session_cookies,
    settings,
)
from portal.auth import sessions, throttle
from portal.auth.models import AuthSession
from portal.enhanced.views import my_sites
from portal.errors import InvalidField, NotFound
from portal.models import Member, id_of

blueprint = Blueprint("account", __name__)
ACCOUNT = "/account"
SESSIONS_SHOWN = 50


async def signed_in() -> tuple[AuthSession, Member] | None:
    async with db.transaction() as s:
        portal_session = await session_cookies.current(s, "member")
        if portal_session is None or portal_session.member_id is None:
            return None
        member = await members.select_member_by_id(s, portal_session.member_id)
    return (portal_session, member) if member is not None else None


def to_sign_in() -> ResponseReturnValue:
    """The sign-in page, which comes back here afterwards (continuations.py lets /account
    through: the Enhanced front end's entry paths name it)."""
    return redirect(f"/sign-in?{urlencode({'next': ACCOUNT})}", 303)


def password_help() -> dict[str, Any]:
    current = settings.current()
    return {"imis_password_url": current.imis_password_reset_url}


async def account_page(
    portal_session: AuthSession, member: Member, *, status: int = 200, errors: Any = None
) -> Response:
    now, policy = clock.now(), session_cookies.policy()
    async with db.transaction() as s:
        live = await sessions.member_sessions(
            s, now=now, policy=policy, member_id=id_of(member), size=SESSIONS_SHOWN
        )
        used = await member_account.sites_used(s, id_of(member))
        sites = await my_sites(s, member)
    page = await render_template(
        "account/index.html",
        member=member,
        this_session=portal_session.id,
        signed_in=live.sessions,
        network=member_account.network_in_words,
        used=used,
        sites=sites,
        may_change_password=member_account.may_change_password(
            member, settings.current().directory
        ),
        errors=errors or {},
        **password_help(),
    )
    return Response(page, status)


@blueprint.get(ACCOUNT)
async def account() -> ResponseReturnValue:
    found = await signed_in()
    if found is None:
        return to_sign_in()
    return await account_page(*found)


@blueprint.post(f"{ACCOUNT}/sessions/<id:session_id>/end")
async def end_session(session_id: int) -> ResponseReturnValue:
    found = await signed_in()
    if found is None:
        return to_sign_in()
    portal_session, member = found
    if session_id == portal_session.id:  # this browser signs out at /sign-out, cookie and all
        return redirect(ACCOUNT, 303)
    async with db.transaction() as s:
        # Another member's session is not there for this member: 404, as for no session at all.
        row = await member_account.own_session(s, id_of(member), session_id)
        if row is None:
            raise NotFound("You have no such sign-in.")
        await member_account.end_other_session(
            s, row, now=clock.now(), client_address=request.remote_addr
        )
    await flash("That browser is signed out, and the sites it used have been told.", "success")
    return redirect(ACCOUNT, 303)


@blueprint.post(f"{ACCOUNT}/sign-out-everywhere")
async def sign_out_everywhere() -> ResponseReturnValue:
    found = await signed_in()
    if found is None:
        return to_sign_in()
    _, member = found
    async with db.transaction() as s:
        await session_cookies.sign_out_member(s, vendor_key=None, via="account page")
        await member_account.sign_out_everywhere(
            s, member, now=clock.now(), client_address=request.remote_addr
        )
    # Through the SAML sites told through this browser first (the front-channel chain).
    return redirect(session_cookies.after_sign_out("/signed-out"), 303)


@blueprint.post(f"{ACCOUNT}/password")
async def change_password() -> ResponseReturnValue:
    found = await signed_in()
    if found is None:
        return to_sign_in()
    portal_session, member = found
    if not member_account.may_change_password(member, settings.current().directory):
        raise NotFound("Your password is kept by the membership system, not here.")
    form = await request.form
    try:
        change = await member_account.change_password(
            db.transaction, member, form.get("current_password", ""),
            form.get("new_password", ""), form.get("confirm", ""),
            session_id=id_of(portal_session), client_address=request.remote_addr,
            now=clock.now(), policy=throttle.Policy.from_settings(settings.current()),
        )  # fmt: skip
    except InvalidField as exc:
        return await account_page(portal_session, member, status=422,
                                  errors={"new_password": str(exc)})  # fmt: skip
    if not change.changed:
        if change.verdict.allowed:
            error, status = "That is not your current password.", 422
        elif change.verdict.locked:
            error = f"Too many wrong passwords: ask {settings.current().association_name}."
            status = 429
        else:
            error = f"Too many wrong passwords. Wait {change.verdict.wait_in_words()} and retry."
            status = 429
        errors = {"current_password": error}
        return await account_page(portal_session, member, status=status, errors=errors)
    ended = change.sessions_ended
    others = f" {ended} other sign-in{'s' * (ended != 1)} ended." if ended else ""
    await flash(f"Your password is changed.{others}", "success")
    return redirect(ACCOUNT, 303)


@blueprint.get(f"{ACCOUNT}/data")
async def download() -> ResponseReturnValue:
    found = await signed_in()
    if found is None:
        return to_sign_in()
    _, member = found
    now = clock.now()
    async with db.transaction() as s:
        held = await member_data.everything(s, member, now=now)
        await audit.record(
            s, "member.data_downloaded", member_id=member.id, username=member.username,
            client_address=request.remote_addr,
        )  # fmt: skip
    body = json.dumps(held, indent=2, ensure_ascii=False, default=str)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-account-data.json"'
    response.headers["Cache-Control"] = "no-store"  # personal data: no cache keeps a copy
    return response
