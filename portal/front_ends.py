"""The protocol front ends, as the rest of the portal reaches them: one registration each (a
`FrontEnd`), made in one list at the app's top (`portal.FRONT_ENDS`, registered as the package
is imported, so the app, the command line and the tests all have it), so that a new protocol is
its package plus one line there (docs/layout.md, "Adding a protocol").

The core and the domain never import a front end (tests/test_layout.py); what they need of one —
which paths a sign-in may continue to, what ending a session or signing a member out everywhere
withdraws, which of its rows retention may delete — they ask here, and every registered front
end answers. So does the dashboard, and the command line, of a vendor's settings: each front
end's own (`VendorSettings`), its fields in the dashboard's forms (`SettingsForm`) and its options
of `portal vendor add/set` (`SettingsOptions`), and what the vendor page shows of a vendor of it
(`VendorPage`: its Integration tab, what it sends in the returned fields' preview), so that
neither names a protocol."""

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, Table
from sqlmodel.ext.asyncio.session import AsyncSession
from werkzeug.datastructures import MultiDict

from portal.models import Member, Vendor
from portal.outbox.queue import Kind

# A table and the rule that says which of its rows retention deletes.
PurgeRule = tuple[Table, ColumnElement[bool]]


class SessionEnded(Protocol):
    async def __call__(
        self, db: AsyncSession, session_id: int, *, now: datetime, reason: str
    ) -> None: ...


class MemberSignedOut(Protocol):
    async def __call__(
        self,
        db: AsyncSession,
        member_id: int,
        *,
        now: datetime,
        reason: str,
        keep_session: int | None,
    ) -> int: ...


class VendorChanged(Protocol):
    async def __call__(
        self,
        db: AsyncSession,
        vendor_id: int,
        *,
        before: dict[str, object],
        after: dict[str, object],
        now: datetime,
    ) -> None: ...


async def _nothing(*_: object, **__: object) -> None:
    return None


async def _none_signed_out(*_: object, **__: object) -> int:
    return 0


async def _no_sites(*_: object, **__: object) -> list[Vendor]:
    return []


async def _no_values(*_: object) -> dict[str, Any]:
    return {}


async def _no_posts(*_: object) -> dict[int, str]:
    return {}


async def _holds_nothing(*_: object, **__: object) -> dict[str, list[dict[str, Any]]]:
    return {}


def _needs_nothing(*_: object) -> None:
    return None


async def _no_details(*_: object) -> dict[str, Any]:
    return {}


async def _nothing_to_act_on(*_: object) -> dict[int, list[str]]:
    return {}


async def _no_addresses(*_: object) -> list[str]:
    return []


@dataclass(frozen=True)
class VendorSettings:
    """A front end's own settings of a vendor, beside what every vendor has (portal/vendors.py),
    as portal/sign_in_methods.py reads, checks, saves and audits them: values by setting name
    (`names`, unique across front ends: the audit log and `portal vendor show` list them side by
    side). The defaults are a front end with none of its own (Enhanced SSO)."""

    names: tuple[str, ...] = ()
    # The saved values.
    read: Callable[[AsyncSession, Vendor], Awaitable[dict[str, Any]]] = _no_values
    # Every rule of each value, given the vendor's domains: the values checked, or InvalidField.
    check: Callable[..., dict[str, Any]] = lambda values, domains, *, development: dict(values)
    # Write checked values.
    write: Callable[[AsyncSession, Vendor, Mapping[str, Any]], Awaitable[None]] = _nothing
    # What the audit log records of them.
    audited: Callable[[Mapping[str, Any]], dict[str, object]] = dict
    # What a vendor signing in with this front end needs (its own values given): InvalidField,
    # naming the setting, when it lacks it.
    needs: Callable[[Vendor, Mapping[str, Any]], None] = _needs_nothing
    # It posts to the vendor's token URL (Enhanced SSO), so its vendors need one — a detail
    # (portal/vendor_rules.py's token_url_needed), which `portal vendor set` therefore saves
    # before the sign-in method (portal/vendor_settings.py).
    needs_token_url: bool = False
    # Its vendors may be apps in the browser, given no secret (OpenID Connect's public clients):
    # a new vendor asked to be one is one only if its front end allows it (portal/vendors.py).
    secretless: bool = False
    # Its vendors call the portal with an API secret (the Enhanced user service, OpenID Connect's
    # token endpoint); False where none ever would (SAML: an SP proves itself with its metadata's
    # certificates), so none is made, and the dashboard and `portal vendor` say nothing of one.
    api_secrets: bool = True
    # The vendor's details (portal/vendors.py) that only this front end offers.
    details: tuple[str, ...] = ()
    # The addresses its saved settings hold of a vendor, each within the vendor's domains: a
    # domain is removed only when none of them is on it (portal/vendors.py, remove_domain).
    addresses: Callable[[AsyncSession, Vendor], Awaitable[list[str]]] = _no_addresses


@dataclass(frozen=True)
class SettingsForm:
    """A front end's fields in the dashboard's forms (portal/admin/vendor_protocol_views.py and
    vendor_views.py): partial templates, rendered in the form below the front end's choice."""

    # Its fields in "How members sign in", their values in `method` (the saved ones, or those
    # of a refused form), what the template shows beside them in `shows`.
    template: str | None = None
    shows: Mapping[str, object] = field(default_factory=dict)
    # Its values from a submitted "How members sign in" form.
    read: Callable[[MultiDict[str, str]], dict[str, Any]] = lambda form: {}
    # Its fields in "Add a vendor", and the values they give, checked on the vendor's domains
    # (None: the domain given was refused, and says so itself); a value `vendors.NewVendor`
    # takes goes there, the others to the new vendor's sign-in method.
    new_template: str | None = None
    read_new: Callable[..., dict[str, Any]] = lambda form, domains, *, development: {}
    # Offered before the front ends that are not, on both forms (`listed()`); the registry's
    # order, which its hooks run in, stays as it is.
    listed_first: bool = False


@dataclass(frozen=True)
class SettingsOptions:
    """A front end's options of `portal vendor add` and `portal vendor set` (portal/vendor_cli.py),
    refused for a vendor of another front end."""

    # Add its options to a parser, each storing under its setting's name (None: not given).
    add: Callable[[argparse.ArgumentParser], None]
    # {setting: its option}, as a refusal names it.
    options: Mapping[str, str]
    # The values given, as its settings take them.
    read: Callable[[dict[str, Any]], dict[str, Any]] = lambda given: given
    # What `portal vendor add` prints (text, JSON) given the key and the first secret, if not
    # the API secret alone.
    added: Callable[[str, str | None], tuple[str, dict[str, object]]] | None = None


SECRET_VARIABLE = "PORTAL_SECRET"  # noqa: S105 - the name of an environment variable


@dataclass(frozen=True)
class Endpoint:
    """An address an Integration tab lists, with its copy button."""

    id: str
    label: str
    url: str


@dataclass(frozen=True)
class Sample:
    """Copy-paste code an Integration tab shows."""

    id: str
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class VendorPage:
    """What the dashboard's vendor page shows of a vendor of this front end
    (portal/admin/vendor_page.py), beyond its settings."""

    # The Integration tab: what the vendor's developers need (a partial template), and its
    # variables given the issuer, the vendor's key and its sign-in method's saved values.
    integration: str | None = None
    integration_context: Callable[[str, str, Mapping[str, Any]], dict[str, Any]] = (
        lambda issuer, key, method: {}
    )
    # The returned fields' preview: what the front end sends the vendor, given the member and
    # the chosen (field, output name) pairs, shown as JSON under `preview_label` (element id
    # `preview_id`), with `preview_note` below it. Every front end's is shown, the vendor's first.
    preview: Callable[[Vendor, Member, list[tuple[str, str]]], Mapping[str, object]] | None = None
    preview_id: str = ""
    preview_label: str = ""
    preview_note: str = ""
    # What its tokens do, in staff words (the status card: "its tokens stop working").
    tokens_do: tuple[str, str] = ("working", "work")
    # How the front end itself tells the vendor of a sign-out (its `logout_kind`), in staff words
    # for the sign-out notices card, or None where it does not (then the card speaks of the
    # sign-out notification address).
    sign_out_words: Callable[[AsyncSession, Vendor], Awaitable[str | None]] | None = None
    # More of the Integration tab's variables, read from the database (the vendor and now given).
    integration_details: Callable[[AsyncSession, Vendor, datetime], Awaitable[dict[str, Any]]] = (
        _no_details
    )
    # What staff must act on about its vendors now (the vendors given are its own), by vendor
    # id: sentences that say what to do, shown on the vendor page, the vendor list and the
    # overview (SAML: a site's certificate about to expire).
    attention: Callable[
        [AsyncSession, Sequence[Vendor], datetime], Awaitable[dict[int, list[str]]]
    ] = _nothing_to_act_on


@dataclass(frozen=True)
class BrowserSignOut:
    """How a front end tells some of its vendors of a sign-out through the member's browser (SAML's
    front-channel chain): the browser is sent to `path`, which leads it through them in turn, once
    the portal session ends in that browser."""

    path: str
    # The vendors of an ended session told this way, in the order visited, except the one the
    # sign-out began at (`begun_at`, a vendor key): that site signs itself out.
    vendors: Callable[[AsyncSession, int, str | None], Awaitable[list[int]]]


@dataclass(frozen=True)
class FrontEnd:
    """One protocol front end. `name` is what `vendor.protocol` and `session_vendor.front_end`
    hold (the database's check constraints list the same names: a new one comes with its
    migration)."""

    name: str
    label: str  # in staff words, for the dashboard
    # The paths a sign-in on the portal's own pages may continue to (portal/continuations.py).
    entry_paths: frozenset[str]
    # The audit event of the front end issuing to a vendor: the overview's sign-ins per day.
    issued_event: str
    # A member's portal session ended (once, by the call that ended it; portal/auth/sessions.py):
    # withdraw what the front end issued in it.
    session_ended: SessionEnded = _nothing
    # Staff, a new password or a disabling end every session of a member: withdraw what
    # outlives a session too. Returns how many grants it revoked.
    member_signed_out: MemberSignedOut = _none_signed_out
    # A vendor's settings changed (portal/sign_in_methods.py): what it no longer allows ends.
    vendor_changed: VendorChanged = _nothing
    # The sites that keep access to a member whatever becomes of the session, for staff.
    lasting_access: Callable[[AsyncSession, int, datetime], Awaitable[list[Vendor]]] = _no_sites
    # What it holds about a member beyond the session rows, for the member's own download
    # (portal/member_data.py): {section name: records as JSON values}, never a secret or a hash.
    member_data: Callable[[AsyncSession, int], Awaitable[dict[str, list[dict[str, Any]]]]] = (
        _holds_nothing
    )
    # Retention (portal/retention.py): the front end's rows to delete, given the token age.
    purge_rules: Callable[[datetime, timedelta], list[PurgeRule]] = lambda now, age: []
    # The ids of sessions whose rows must stay while something the front end issued needs them.
    kept_sessions: Callable[[datetime], Select[tuple[int]]] | None = None
    # A vendor's settings (portal/sign_in_methods.py): the hint under its choice of sign-in
    # method, in plain words, its own settings, and how the dashboard and the CLI offer them.
    hint: str = ""
    vendor_settings: VendorSettings = VendorSettings()
    settings_form: SettingsForm = SettingsForm()
    settings_options: SettingsOptions | None = None
    vendor_page: VendorPage = VendorPage()
    # Where "My sites" sends a member to a vendor without a start page of its own: a sign-in the
    # portal can start (portal/vendors.py, start_sign_in_url), or None when only the vendor can.
    portal_start: Callable[[Vendor], str | None] = lambda vendor: None
    # The vendors, among those given (its own), whose "My sites" tile is a form posting to the
    # portal with its CSRF token, which signs the member in there (SAML's IdP-initiated sign-in,
    # where staff turned it on): {vendor id: the local path it posts to}. Ahead of a start page.
    my_sites_posts: Callable[[AsyncSession, Sequence[Vendor]], Awaitable[dict[int, str]]] = (
        _no_posts
    )
    # The outbox kind that tells the front end's vendors of a session's end its own way (the rows
    # its `session_ended` writes), made from logout_notices' Policy and HTTP client, so it is
    # delivered as back-channel logout notices are (portal/__init__.py, outbox_kinds).
    logout_kind: Callable[[Any, Any], Kind[Any]] | None = None
    # Vendors it tells of a sign-out through the member's browser, when the session ends there.
    browser_sign_out: BrowserSignOut | None = None


_registered: tuple[FrontEnd, ...] = ()


def register(*front_ends: FrontEnd) -> tuple[FrontEnd, ...]:
    """Make `front_ends` the portal's front ends (portal/__init__.py, once per process)."""
    global _registered
    names = [front_end.name for front_end in front_ends]
    if len(set(names)) != len(names):
        raise ValueError(f"front ends registered twice: {names}")
    _registered = front_ends
    return front_ends


def registered() -> tuple[FrontEnd, ...]:
    if not _registered:
        # A process without its front ends would end sessions and leave their grants standing.
        raise RuntimeError("no front end registered: import portal first")
    return _registered


def names() -> tuple[str, ...]:
    return tuple(front_end.name for front_end in registered())


def named(name: str) -> FrontEnd:
    """The front end called `name` (a checked one: vendor_rules.check_protocol)."""
    return next(front_end for front_end in registered() if front_end.name == name)


def listed() -> tuple[FrontEnd, ...]:
    """The front ends as the dashboard offers them: those listed first, then the others, each in
    the registry's order."""
    found = registered()
    return tuple(f for f in found if f.settings_form.listed_first) + tuple(
        f for f in found if not f.settings_form.listed_first
    )


def labels() -> dict[str, str]:
    """{name: label}, for the dashboard's choice of sign-in method."""
    return {front_end.name: front_end.label for front_end in registered()}


def entry_paths() -> frozenset[str]:
    return frozenset().union(*(front_end.entry_paths for front_end in registered()))


def issued_events() -> tuple[str, ...]:
    return tuple(front_end.issued_event for front_end in registered())


async def session_ended(db: AsyncSession, session_id: int, *, now: datetime, reason: str) -> None:
    for front_end in registered():
        await front_end.session_ended(db, session_id, now=now, reason=reason)


async def browser_sign_out(
    db: AsyncSession, session_id: int, *, begun_at: str | None
) -> tuple[str, list[int]] | None:
    """Where the browser goes after the session ended in it, and the vendors it is led through
    there; None when no vendor is told through the browser. One front end leads (SAML's is the
    only one): the first with vendors to visit."""
    for front_end in registered():
        if front_end.browser_sign_out is None:
            continue
        found = await front_end.browser_sign_out.vendors(db, session_id, begun_at)
        if found:
            return front_end.browser_sign_out.path, found
    return None


async def member_signed_out(
    db: AsyncSession, member_id: int, *, now: datetime, reason: str, keep_session: int | None
) -> int:
    revoked = 0
    for front_end in registered():
        revoked += await front_end.member_signed_out(
            db, member_id, now=now, reason=reason, keep_session=keep_session
        )
    return revoked


async def vendor_changed(
    db: AsyncSession,
    vendor_id: int,
    *,
    before: dict[str, object],
    after: dict[str, object],
    now: datetime,
) -> None:
    for front_end in registered():
        await front_end.vendor_changed(db, vendor_id, before=before, after=after, now=now)


async def lasting_access(db: AsyncSession, member_id: int, *, now: datetime) -> list[Vendor]:
    sites = [
        site
        for front_end in registered()
        for site in await front_end.lasting_access(db, member_id, now)
    ]
    return sorted(sites, key=lambda vendor: vendor.name)


async def member_data(db: AsyncSession, member_id: int) -> dict[str, list[dict[str, Any]]]:
    held: dict[str, list[dict[str, Any]]] = {}
    for front_end in registered():
        held.update(await front_end.member_data(db, member_id))
    return held


def purge_rules(now: datetime, token_age: timedelta) -> list[PurgeRule]:
    return [rule for front_end in registered() for rule in front_end.purge_rules(now, token_age)]


def kept_sessions(now: datetime) -> list[Select[tuple[int]]]:
    return [kept(now) for front_end in registered() if (kept := front_end.kept_sessions)]


async def attention(
    db: AsyncSession, vendors: Sequence[Vendor], now: datetime
) -> dict[int, list[str]]:
    """{vendor id: what staff must act on about it}, each front end asked of its own vendors."""
    found: dict[int, list[str]] = {}
    for front_end in registered():
        own = [vendor for vendor in vendors if vendor.protocol == front_end.name]
        if own:
            found |= await front_end.vendor_page.attention(db, own, now)
    return found
