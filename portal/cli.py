"""The `portal` command. Bad input: a one-line reason and a non-zero exit."""

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    account_cli,
    audit,
    db,
    maintenance_cli,
    members,
    pairwise,
    serve,
    staff,
    vendor_cli,
)
from portal.auth import mfa
from portal.demo import command as demo
from portal.directory import imis, imis_directory
from portal.errors import PortalError
from portal.settings import Settings, SettingsError, load_settings

Command = Callable[[argparse.Namespace, Settings], int]
DESCRIPTION = (
    "Single sign-on for an association's members and its vendor sites: run the portal, migrate "
    "its database, and manage vendors, members and staff. Every command exits non-zero with a "
    "one-line reason on bad input; --json prints one JSON object."
)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"portal: {message}\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**({"env": "development"} if args.command == "demo" else {}))
        result: int = args.run(args, settings)
        return result
    except (PortalError, SettingsError) as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="portal", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    demo.add_command(commands)
    serve.add_commands(commands)
    maintenance_cli.add_commands(commands)

    db_cmd = commands.add_parser("db", help="database maintenance")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True, parser_class=ArgumentParser)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(run=db_upgrade)

    vendor_cli.add_commands(commands)

    member = commands.add_parser("member", help="manage members")
    member_sub = member.add_subparsers(dest="member_command", required=True)
    member_add = member_sub.add_parser("add", help="add a member to the local directory")
    for option in ("imis-id", "username", "email", "first-name", "last-name", "member-type"):
        member_add.add_argument(f"--{option}", required=True)
    for option in ("member-status", "paid-through", "join-date", "company", "title"):
        member_add.add_argument(f"--{option}")
    member_add.add_argument("--password-stdin", action="store_true")
    member_add.add_argument("--json", action="store_true")
    member_add.set_defaults(run=member_add_command)
    account_cli.add_switch_commands(member_sub, "member")

    staff_cmd = commands.add_parser("staff", help="manage dashboard accounts")
    staff_sub = staff_cmd.add_subparsers(dest="staff_command", required=True)
    staff_add = staff_sub.add_parser("add")
    staff_add.add_argument("--email", required=True)
    staff_add.add_argument("--role", required=True, choices=["admin", "viewer"])
    staff_add.add_argument("--password-stdin", action="store_true", required=True)
    staff_add.add_argument("--json", action="store_true")
    staff_add.set_defaults(run=staff_add_command)
    staff_unlock = staff_sub.add_parser("unlock", help="let a locked-out staff account sign in")
    staff_unlock.add_argument("email")
    staff_unlock.add_argument("--json", action="store_true")
    staff_unlock.set_defaults(run=staff_unlock_command)
    reset_mfa = staff_sub.add_parser(
        "reset-mfa", help="turn off a staff account's two-factor sign-in (a lost phone)"
    )
    reset_mfa.add_argument("email")
    reset_mfa.add_argument("--json", action="store_true")
    reset_mfa.set_defaults(run=staff_reset_mfa_command)
    account_cli.add_switch_commands(staff_sub, "staff")
    imis_cmd = commands.add_parser("imis", help="the iMIS member directory")
    imis_sub = imis_cmd.add_subparsers(dest="imis_command", required=True)
    imis_check = imis_sub.add_parser("check", help="test connectivity and the service account")
    imis_check.add_argument("--json", action="store_true")
    imis_check.set_defaults(run=imis_check_command)
    return parser


def read_password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    line = sys.stdin.readline()
    if not line.strip():
        raise PortalError("--password-stdin: no password on standard input")
    return line.rstrip("\r\n")


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    print(json.dumps(data) if args.json else text)
    return 0


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db.upgrade(db.database_url(settings))
    if settings.secret_key or settings.development:  # else the first process that serves does
        db.run_in_session(settings, lambda session: pairwise.store(session, settings=settings))
    print("database is up to date")
    return 0


def member_add_command(args: argparse.Namespace, settings: Settings) -> int:
    data = members.parse_member(
        {
            key: value
            for key, value in vars(args).items()
            if key in members.MemberData.model_fields and value is not None
        }
    )
    password = read_password(args)

    async def work(session: AsyncSession) -> None:
        member = await members.add_member(session, data, password)
        await audit.record(
            session, "member.created", member_id=member.id, username=member.username, via="cli"
        )

    db.run_in_session(settings, work)
    text = f"member {data.username} (iMIS ID {data.imis_id}) added"
    return emit(args, {"imis_id": data.imis_id, "username": data.username}, text)


def staff_add_command(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args) or ""

    async def work(session: AsyncSession) -> str:
        account = await staff.add_staff(session, args.email, args.role, password)
        await audit.record(session, "staff.created", via="cli", staff=account.email, role=args.role)
        return account.email

    email = db.run_in_session(settings, work)
    return emit(args, {"email": email, "role": args.role}, f"staff {email} ({args.role}) added")


def staff_unlock_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> str:
        account = await account_cli.staff_account(session, args.email)
        await staff.unlock(session, account)
        await audit.record(session, "staff.unlocked", via="cli", staff=account.email)
        return account.email

    email = db.run_in_session(settings, work)
    return emit(args, {"email": email, "unlocked": True}, f"staff {email} can sign in again")


def staff_reset_mfa_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[str, bool]:
        account = await account_cli.staff_account(session, args.email)
        was_on = await mfa.reset(session, account, now=datetime.now(UTC))
        await audit.record(
            session, "staff.mfa_reset", via="cli", staff=account.email, was_on=was_on
        )
        return account.email, was_on

    email, was_on = db.run_in_session(settings, work)
    text = (
        f"staff {email} signs in with the password alone until two-factor is set up again"
        if was_on
        else f"staff {email} had no two-factor sign-in; nothing else changed"
    )
    return emit(args, {"email": email, "reset": True, "was_on": was_on}, text)


def imis_check_command(args: argparse.Namespace, settings: Settings) -> int:
    config = imis_directory.config_from(settings)
    try:
        found = asyncio.run(imis.check(config))
    except imis.ImisUnavailable as exc:
        raise PortalError(f"iMIS at {config.url} is not usable: {exc}") from None
    return emit(args, {"url": config.url, "ok": True, "found": found}, "\n".join(found))


if __name__ == "__main__":
    sys.exit(main())
