"""`portal vendor …`: register a vendor, change whatever the dashboard can change about it
(portal/vendor_settings.py, audited as the dashboard audits it), show it, and manage its API
secrets. Each command is one transaction: a refused value is one line that names its option,
and nothing is written."""

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import (
    audit,
    db,
    front_ends,
    vendor_rules,
    vendor_secret_cli,
    vendor_secrets,
    vendor_settings,
    vendors,
)
from portal.clock import system_clock
from portal.errors import InvalidField, PortalError
from portal.maintenance_cli import show
from portal.models import MY_SITES, VendorSecret
from portal.settings import Settings

# What `add` and `set` take: (option, setting, help); a setting not given stays as it is.
URLS = (
    ("--token-url", "token_url", "Enhanced SSO: where the one-time token is posted"),
    ("--signout-url", "signout_url", "where members land after signing out"),
    ("--start-url", "start_url", 'the vendor\'s sign-in start page ("My sites")'),
    ("--backchannel-logout-url", "backchannel_logout_url", "receives a signed logout token"),
    ("--frontchannel-logout-url", "frontchannel_logout_url", "framed by the signed-out page"),
)
SWITCHES = (  # (on, off, setting, help)
    ("--backchannel-session-required", "--no-backchannel-session-required",
     "backchannel_logout_session_required", "OIDC's; the portal always sends sid"),
    ("--enable", "--disable", "enabled", "a disabled vendor's sign-ins are refused"),
)  # fmt: skip
LOGOUT = (*URLS[3:], *SWITCHES[:1])
# The option that carries each setting, so that a refusal names it (and each front end's own:
# `own_options`).
OPTIONS = {
    **{setting: option for option, setting, _ in URLS},
    **{"key": "KEY", "name": "--name", "protocol": "--protocol", "domain": "--domain"},
    **{"add_domains": "--add-domain", "remove_domains": "--remove-domain"},
    "my_sites": "--my-sites",
    "access_member_types": "--member-types",
    "access_statuses": "--statuses",
}
# --access: who may use the site; with it, --member-types and --statuses not given mean none.
ACCESS = {"everyone": False, "good-standing": True}
NEW_VENDOR = {field.name for field in fields(vendors.NewVendor)}


def add_commands(commands: Any) -> None:
    sub = commands.add_parser("vendor", help="register and manage vendors").add_subparsers(
        dest="vendor_command", required=True
    )

    def command(name: str, run: Any, about: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=about)
        parser.add_argument("key", metavar="KEY")
        parser.add_argument("--json", action="store_true")
        parser.set_defaults(run=run)
        return parser

    add = command(
        "add", vendor_add, "register a vendor; prints its API secret once, if it uses one"
    )
    add.add_argument("--name", required=True)
    add.add_argument("--protocol", choices=front_ends.names(), default="enhanced")
    add.add_argument("--domain", action="append", required=True, dest="domains", metavar="DOMAIN")
    change = command("set", vendor_set, "change a vendor's settings; the others stay as they are")
    change.add_argument("--name")
    change.add_argument("--protocol", choices=front_ends.names())
    change.add_argument("--add-domain", action="append", dest="add_domains", metavar="DOMAIN")
    change.add_argument("--remove-domain", action="append", dest="remove_domains", metavar="DOMAIN")
    for parser in (add, change):
        setting_options(parser)
    logout = command("set-logout", vendor_set_logout, 'the sign-out addresses ("" removes one)')
    options(logout, LOGOUT)
    command("show", vendor_show, "every setting of a vendor, and its active secrets")
    vendor_secret_cli.add_commands(command)


def setting_options(parser: argparse.ArgumentParser) -> None:
    options(parser, (*URLS, *SWITCHES))
    parser.add_argument(
        "--my-sites",
        metavar="|".join(MY_SITES),
        help='on members\' "My sites": listed, a greyed "coming soon" tile, or left out; '
        "the list only (--disable stops sign-ins)",
    )
    parser.add_argument("--fields", type=field_choices, metavar="F1,F2=OUTPUT_NAME")
    parser.add_argument(
        "--access",
        choices=ACCESS,
        help="who may use the site: everyone who signs in, or members in good standing only; "
        "--member-types and --statuses narrow it (with --access, leaving one out means any)",
    )
    parser.add_argument(
        "--member-types", dest="access_member_types", type=comma_list, metavar="STU,REG"
    )
    parser.add_argument("--statuses", dest="access_statuses", type=comma_list, metavar="A,I")
    for front_end in front_ends.registered():  # each front end's own settings
        if front_end.settings_options:
            front_end.settings_options.add(parser)


def own_options(front_end: front_ends.FrontEnd) -> Mapping[str, str]:
    """{setting: option} of a front end's own settings."""
    return front_end.settings_options.options if front_end.settings_options else {}


def options(parser: argparse.ArgumentParser, table: tuple[tuple[str, ...], ...]) -> None:
    """URLS' and SWITCHES' rows: a value, or a pair of flags of which one may be given."""
    for row in table:
        if len(row) == 3:
            parser.add_argument(row[0], dest=row[1], metavar="URL", help=row[2])
            continue
        on, off, setting, what = row
        pair = parser.add_mutually_exclusive_group()
        pair.add_argument(on, dest=setting, action="store_const", const=True, help=what)
        pair.add_argument(off, dest=setting, action="store_const", const=False, help=f"not {on}")


def field_choices(spec: str) -> list[vendor_rules.FieldChoice]:
    try:
        return vendor_rules.parse_field_spec(spec)
    except PortalError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def comma_list(text: str) -> list[str]:
    """`STU,REG` -> ["STU", "REG"]; "" -> [] (none)."""
    return text.split(",")


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, as each front end reads its own."""
    found = {
        name: value
        for name, value in vars(args).items()
        if name in vendor_settings.settings() and value is not None
    }
    if getattr(args, "access", None) is not None:
        found = {"access_member_types": [], "access_statuses": [], **found}
        found["access_good_standing"] = ACCESS[args.access]
    for front_end in front_ends.registered():
        if front_end.settings_options:
            found = front_end.settings_options.read(found)
    return found


def refuse_others_options(wanted: dict[str, Any], protocol: str) -> None:
    """A front end's own options are for its vendors only."""
    for front_end in front_ends.registered():
        misplaced = [option for name, option in own_options(front_end).items() if name in wanted]
        if front_end.name != protocol and misplaced:
            only = f"for --protocol {front_end.name} ({front_end.label}) only"
            raise PortalError(f"{', '.join(misplaced)}: {only}")


@contextmanager
def options_named() -> Iterator[None]:
    named = {
        **OPTIONS,
        **{n: o for f in front_ends.registered() for n, o in own_options(f).items()},
    }
    try:
        yield
    except InvalidField as exc:
        raise PortalError(f"{named.get(exc.field, exc.field)}: {exc}") from None


def vendor_add(args: argparse.Namespace, settings: Settings) -> int:
    wanted = given(args)
    refuse_others_options(wanted, args.protocol)
    first = {name: wanted[name] for name in NEW_VENDOR if name in wanted}
    new = vendors.NewVendor(**{"token_url": None, **first}, key=args.key, domains=args.domains)
    later = {name: wanted[name] for name in wanted if name not in first or name == "protocol"}

    async def work(session: AsyncSession) -> str | None:
        with options_named():
            vendor, secret = await vendors.add_vendor(
                session, new, development=settings.development
            )
            await vendor_settings.apply(
                session, vendor, later, development=settings.development, now=system_clock()
            )
        after = await vendor_settings.snapshot(session, vendor)
        changes = audit.changes({}, after)
        await audit.record(
            session, "vendor.created", vendor_key=vendor.key, via="cli", changes=changes
        )
        return secret

    secret = db.run_in_session(settings, work)
    chosen = front_ends.named(args.protocol).settings_options
    if chosen and chosen.added:
        text, data = chosen.added(args.key, secret)
    else:
        text = f"vendor {args.key} added\nAPI secret (shown only now, store it safely): {secret}"
        data = {"key": args.key, "secret": secret}
    show(args, data, text)
    return 0


def change(settings: Settings, key: str, wanted: dict[str, Any]) -> dict[str, Any]:
    """Apply `wanted` to the vendor in one transaction, audited; returns its settings after."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        vendor = await vendors.get_vendor(session, key)
        refuse_others_options(wanted, wanted.get("protocol", vendor.protocol))
        before = await vendor_settings.snapshot(session, vendor)
        with options_named():
            await vendor_settings.apply(
                session, vendor, wanted, development=settings.development, now=system_clock()
            )
        after = await vendor_settings.snapshot(session, vendor)
        for event, details in vendor_settings.events(before, after):
            await audit.record(session, event, vendor_key=vendor.key, via="cli", **details)
        return {"before": before, "after": after}

    return db.run_in_session(settings, work)


def vendor_set(args: argparse.Namespace, settings: Settings) -> int:
    wanted = given(args)
    if not wanted:
        raise PortalError("nothing to change: give a setting (portal vendor set --help)")
    found = change(settings, args.key, wanted)
    changes = audit.changes(found["before"], found["after"])
    lines = [f"{name}: {words(c['before'])} → {words(c['after'])}" for name, c in changes.items()]
    text = "\n".join([f"vendor {args.key}", *lines]) if lines else "nothing changed"
    show(args, {"key": args.key, "changes": changes}, text)
    return 0


def vendor_set_logout(args: argparse.Namespace, settings: Settings) -> int:
    wanted = given(args)
    if not wanted:
        raise PortalError("give --backchannel-logout-url or --frontchannel-logout-url")
    after = change(settings, args.key, wanted)["after"]
    shown = {name: after[name] for name in vendor_settings.LOGOUT}
    text = "\n".join(f"{name}: {words(value)}" for name, value in shown.items())
    show(args, {"key": args.key, **shown}, f"vendor {args.key}\n{text}")
    return 0


def vendor_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[VendorSecret]]:
        vendor = await vendors.get_vendor(session, args.key)
        found = {"key": vendor.key, **await vendor_settings.snapshot(session, vendor)}
        return found, await vendor_secrets.select_active(session, vendor)

    found, secrets = db.run_in_session(settings, work)
    lines = [f"{name}: {words(value)}" for name, value in found.items()]
    if not (secrets or front_ends.named(found["protocol"]).vendor_settings.api_secrets):
        # Its front end uses no API secret (and it kept none from an earlier one): nothing to say.
        show(args, found, "\n".join(lines))
        return 0
    active = ", ".join(map(vendor_secret_cli.words, secrets)) or "(none active)"
    data = {**found, "secrets": vendor_secret_cli.listed(secrets)}
    show(args, data, "\n".join([*lines, f"secrets: {active}"]))
    return 0


def words(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
