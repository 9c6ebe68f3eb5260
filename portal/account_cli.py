"""`portal member disable|enable LOGIN` and `portal staff disable|enable EMAIL`: the dashboard's
switch from the command line, the same domain operation (portal/disabling.py), audited as made
with the command line."""

import argparse
import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, db, disabling, members, staff
from portal.clock import system_clock
from portal.errors import PortalError
from portal.models import Staff
from portal.settings import Settings

ACCOUNTS = {
    "member": ("LOGIN", "the member's username, email or iMIS ID"),
    "staff": ("EMAIL", "the staff account's email"),
}
VERBS = {
    "disable": "sign out everywhere and refuse sign-ins; password links and OpenID Connect "
    "grants stop working",
    "enable": "allow sign-ins again (nothing withdrawn by disabling comes back)",
}
# What a disabling withdrew, in the order and words the command prints.
WITHDRAWN = {
    "sessions_ended": "sessions ended",
    "links_voided": "password links voided",
    "grants_revoked": "OpenID Connect grants revoked",
}


def add_switch_commands(sub: Any, kind: str) -> None:
    metavar, what = ACCOUNTS[kind]
    for verb, text in VERBS.items():
        command = sub.add_parser(verb, help=text)
        command.add_argument("account", metavar=metavar, help=what)
        command.add_argument("--json", action="store_true")
        command.set_defaults(run=switch_command, kind=kind, enable=verb == "enable")


async def staff_account(session: AsyncSession, email: str) -> Staff:
    account = await staff.select_staff_by_email(session, email)
    if account is None:
        raise PortalError(f"no staff account {email.strip()[:254]!r}")
    return account


async def switch(
    session: AsyncSession, kind: str, text: str, *, enable: bool
) -> tuple[dict[str, str], disabling.Switched]:
    """Find the account and switch it; returns who it is (for the output) and what was done."""
    now, by = system_clock(), audit.Actor(via="cli")
    if kind == "staff":
        account = await staff_account(session, text)
        operation = staff.enable if enable else staff.disable
        return {"email": account.email}, await operation(session, account, now=now, by=by)
    member = await members.find_member(session, text)
    if member is None:
        raise PortalError(f"no member {text.strip()[:254]!r} (give a username, email or iMIS ID)")
    switched = members.enable if enable else members.disable
    done = await switched(session, member, now=now, by=by)
    return {"username": member.username, "imis_id": member.imis_id}, done


def switch_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[dict[str, str], disabling.Switched]:
        return await switch(session, args.kind, args.account, enable=args.enable)

    who, done = db.run_in_session(settings, work)
    state = "enabled" if args.enable else "disabled"
    kept = [name for name in WITHDRAWN if args.kind == "member" or name != "grants_revoked"]
    counts = {} if args.enable else {name: getattr(done, name) for name in kept}
    name = f"{args.kind} {next(iter(who.values()))}"
    text = f"{name} {state}" if done.changed else f"{name} was already {state}"
    if counts:
        text += ": " + ", ".join(f"{n} {WITHDRAWN[what]}" for what, n in counts.items())
    data = {**who, "enabled": args.enable, "changed": done.changed, **counts}
    print(json.dumps(data) if args.json else text)
    return 0
