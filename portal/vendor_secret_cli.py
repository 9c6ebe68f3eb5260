"""`portal vendor rotate-secret` and `revoke-secret`: a vendor's API secrets from the command
line, audited as the dashboard's Secrets tab audits them. Two may be active at once, so that a
vendor rotates without downtime: add the new one, deploy it, revoke the old one."""

import argparse
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, db, ids, vendor_secrets, vendors
from portal.errors import PortalError
from portal.maintenance_cli import show
from portal.models import VendorSecret
from portal.settings import Settings

SECRET_ID = re.compile(ids.numbers_up_to(ids.MAX_ID))


def add_commands(command: Callable[[str, Any, str], argparse.ArgumentParser]) -> None:
    """`command(name, run, help)` makes a `portal vendor` subcommand taking KEY and --json."""
    rotate = command("rotate-secret", rotate_secret, "a new API secret (two may be active)")
    rotate.add_argument("--revoke-oldest", action="store_true", help="revoke the older of two")
    revoke = command("revoke-secret", revoke_secret, "revoke one of a vendor's API secrets")
    revoke.add_argument("secret_id", metavar="ID", type=secret_id)


def secret_id(text: str) -> int:
    if not SECRET_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a secret's id (see vendor show)")
    return int(text)


def rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[str, int | None]:
        vendor = await vendors.get_vendor(session, args.key)
        older = await vendor_secrets.displaced(session, vendor)
        if older is not None and not args.revoke_oldest:
            # The vendor may still be using it: revoking it unasked could cut the vendor off.
            raise PortalError(
                f"{vendor.key} has two active secrets; the older, {words(older)}, may still be "
                f"in use: revoke it first (portal vendor revoke-secret {vendor.key} {older.id}) "
                "or give --revoke-oldest"
            )
        secret = await vendor_secrets.rotate(session, vendor)
        if older is not None:
            await record_revoked(session, vendor.key, older.id)
        active = len(await vendor_secrets.select_active(session, vendor))
        await audit.record(
            session, "vendor.secret_created", vendor_key=vendor.key, active=active, via="cli"
        )
        return secret, older.id if older else None

    secret, revoked = db.run_in_session(settings, work)
    text = f"new API secret for {args.key} (shown only now): {secret}"
    if revoked:
        text += f"\nsecret #{revoked} revoked: calls that use it are refused"
    show(args, {"key": args.key, "secret": secret, "revoked": revoked}, text)
    return 0


def revoke_secret(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> int:
        vendor = await vendors.get_vendor(session, args.key)
        await vendor_secrets.revoke(session, vendor, args.secret_id)
        await record_revoked(session, vendor.key, args.secret_id)
        return len(await vendor_secrets.select_active(session, vendor))

    active = db.run_in_session(settings, work)
    text = f"secret #{args.secret_id} of {args.key} revoked: calls that use it are refused"
    if not active:
        text += f"\n{args.key} has no active secret left: portal vendor rotate-secret {args.key}"
    show(args, {"key": args.key, "revoked": args.secret_id, "active": active}, text)
    return 0


async def record_revoked(session: AsyncSession, key: str, secret_id: int | None) -> None:
    await audit.record(
        session, "vendor.secret_revoked", vendor_key=key, credential_id=secret_id, via="cli"
    )


def listed(secrets: Sequence[VendorSecret]) -> list[dict[str, Any]]:
    """What `vendor show --json` says of each active secret: never the secret or its hash."""
    return [
        {"id": s.id, "created": iso(s.created_at), "last_used": iso(s.last_used_at)}
        for s in secrets
    ]


def iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def words(secret: VendorSecret) -> str:
    used = f"{secret.last_used_at:%Y-%m-%d %H:%M} UTC" if secret.last_used_at else "never"
    created = f"{secret.created_at:%Y-%m-%d}" if secret.created_at else "?"
    return f"#{secret.id} (created {created}, last used {used})"
