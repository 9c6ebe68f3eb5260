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
    audit,
    db,
    maintenance_cli,
    members,
    oidc_registration,
    pairwise,
    serve,
    staff,
    vendor_secrets,
    vendors,
)
from portal.auth import mfa
from portal.clock import system_clock
from portal.demo import run as demo_run
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
    demo_run.add_command(commands)
    serve.add_commands(commands)
    maintenance_cli.add_commands(commands)

    db_cmd = commands.add_parser("db", help="database maintenance")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True, parser_class=ArgumentParser)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(run=db_upgrade)

    vendor = commands.add_parser("vendor", help="register and manage vendors")
    vendor_sub = vendor.add_subparsers(dest="vendor_command", required=True)
    add = vendor_sub.add_parser("add", help="register a vendor; prints its API secret once")
    add.add_argument("key")
    add.add_argument("--name", required=True)
    add.add_argument("--protocol", choices=["enhanced", "oidc"], default="enhanced")
    add.add_argument("--token-url", help="Enhanced SSO: where the one-time token is posted")
    add.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    add.add_argument(
        "--post-logout-redirect-uri", action="append", default=[], dest="post_logout_uris"
    )
    add.add_argument("--public", action="store_true", help="OpenID Connect: no secret, PKCE")
    add.add_argument("--domain", action="append", required=True, dest="domains")
    add.add_argument("--signout-url")
    add.add_argument(
        "--start-url", help="the vendor's sign-in start page, for members' \"My sites\""
    )
    add.add_argument("--fields", help="e.g. ImisId,Email=email_address (=: output name)")
    add_logout_options(add)
    add.add_argument("--json", action="store_true")
    add.set_defaults(run=vendor_add)
    set_logout = vendor_sub.add_parser(
        "set-logout", help='set or remove (with "") a vendor\'s sign-out addresses'
    )
    set_logout.add_argument("key")
    add_logout_options(set_logout)
    set_logout.add_argument(
        "--backchannel-session-required",
        action=argparse.BooleanOptionalAction,
        help="OpenID Connect's backchannel_logout_session_required (the portal always sends sid)",
    )
    set_logout.add_argument("--json", action="store_true")
    set_logout.set_defaults(run=vendor_set_logout)
    rotate = vendor_sub.add_parser("rotate-secret", help="new API secret; the newest old one stays")
    rotate.add_argument("key")
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(run=vendor_rotate_secret)

    member = commands.add_parser("member", help="manage members of the local directory")
    member_add = member.add_subparsers(dest="member_command", required=True).add_parser("add")
    for option in ("imis-id", "username", "email", "first-name", "last-name", "member-type"):
        member_add.add_argument(f"--{option}", required=True)
    for option in ("member-status", "paid-through", "join-date", "company", "title"):
        member_add.add_argument(f"--{option}")
    member_add.add_argument("--password-stdin", action="store_true")
    member_add.add_argument("--json", action="store_true")
    member_add.set_defaults(run=member_add_command)

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
    imis_cmd = commands.add_parser("imis", help="the iMIS member directory")
    imis_sub = imis_cmd.add_subparsers(dest="imis_command", required=True)
    imis_check = imis_sub.add_parser("check", help="test connectivity and the service account")
    imis_check.add_argument("--json", action="store_true")
    imis_check.set_defaults(run=imis_check_command)
    return parser


def add_logout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backchannel-logout-url",
        help="receives a signed logout token when a member's portal session ends",
    )
    parser.add_argument(
        "--frontchannel-logout-url",
        help="for a vendor without a back channel: framed by the portal's signed-out page",
    )


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


def vendor_add(args: argparse.Namespace, settings: Settings) -> int:
    fields = vendors.parse_field_spec(args.fields) if args.fields else vendors.DEFAULT_FIELDS
    oidc = args.protocol == "oidc"
    registration = oidc_registration_of(args)
    new = vendors.NewVendor(
        key=args.key,
        name=args.name,
        token_url=args.token_url,
        domains=args.domains,
        signout_url=args.signout_url,
        fields=fields,
        start_url=args.start_url,
        backchannel_logout_url=args.backchannel_logout_url,
        frontchannel_logout_url=args.frontchannel_logout_url,
        protocol=args.protocol,
        public_client=args.public,
    )

    async def work(session: AsyncSession) -> str | None:
        vendor, secret = await vendors.add_vendor(session, new, development=settings.development)
        if registration is not None:
            now = system_clock()
            development = settings.development
            await oidc_registration.save(
                session, vendor, registration, development=development, now=now
            )
        await audit.record(session, "vendor.created", vendor_key=vendor.key, via="cli")
        return secret

    secret = db.run_in_session(settings, work)
    if not oidc:
        text = f"vendor {args.key} added\nAPI secret (shown only now, store it safely): {secret}"
        return emit(args, {"key": args.key, "secret": secret}, text)
    text = f"vendor {args.key} added for OpenID Connect\nclient ID: {args.key}\n" + (
        "public client: no secret (PKCE)"
        if secret is None
        else f"client secret (shown only now, store it safely): {secret}"
    )
    return emit(args, {"key": args.key, "client_id": args.key, "secret": secret}, text)


def oidc_registration_of(args: argparse.Namespace) -> oidc_registration.Registration | None:
    """The OpenID Connect options, refused with an Enhanced SSO vendor."""
    if args.protocol != "oidc":
        given = (args.redirect_uris, args.post_logout_uris, args.public)
        if any(given):
            raise PortalError(
                "--redirect-uri, --post-logout-redirect-uri and --public need --protocol oidc"
            )
        return None
    return oidc_registration.Registration(
        redirect_uris=args.redirect_uris,
        post_logout_uris=args.post_logout_uris,
        public_client=args.public,
    )


SET_LOGOUT_SHOWS = (*vendors.LOGOUT_URLS, "backchannel_logout_session_required")


def vendor_set_logout(args: argparse.Namespace, settings: Settings) -> int:
    given = {
        field: getattr(args, field)
        for field in vendors.LOGOUT_URLS
        if getattr(args, field) is not None
    }
    required = args.backchannel_session_required
    if not given and required is None:
        raise PortalError("give --backchannel-logout-url or --frontchannel-logout-url")

    async def work(session: AsyncSession) -> dict[str, str | bool | None]:
        vendor = await vendors.get_vendor(session, args.key)
        before = await vendors.set_logout_urls(
            session,
            vendor,
            given,
            development=settings.development,
            now=system_clock(),
            session_required=required,
        )
        after = vendors.settings_of(vendor)
        changed = audit.changes(before, after)
        if changed:
            await audit.record(
                session, "vendor.updated", vendor_key=vendor.key, changes=changed, via="cli"
            )
        return {field: after[field] for field in SET_LOGOUT_SHOWS}

    shown = db.run_in_session(settings, work)
    text = "\n".join(f"{field}: {value or '(none)'}" for field, value in shown.items())
    return emit(args, {"key": args.key, **shown}, f"vendor {args.key}\n{text}")


def vendor_rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> str:
        vendor = await vendors.get_vendor(session, args.key)
        secret = await vendor_secrets.rotate(session, vendor)
        await audit.record(session, "vendor.secret_created", vendor_key=vendor.key, via="cli")
        return secret

    secret = db.run_in_session(settings, work)
    text = f"new API secret for {args.key} (shown only now): {secret}"
    return emit(args, {"key": args.key, "secret": secret}, text)


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
        account = await staff.select_staff_by_email(session, args.email)
        if account is None:
            raise PortalError(f"no staff account {args.email.strip()[:254]!r}")
        await staff.unlock(session, account)
        await audit.record(session, "staff.unlocked", via="cli", staff=account.email)
        return account.email

    email = db.run_in_session(settings, work)
    return emit(args, {"email": email, "unlocked": True}, f"staff {email} can sign in again")


def staff_reset_mfa_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[str, bool]:
        account = await staff.select_staff_by_email(session, args.email)
        if account is None:
            raise PortalError(f"no staff account {args.email.strip()[:254]!r}")
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
