"""`portal purge`, `portal audit verify` and `portal audit purge`: what the background upkeep
does (portal/maintenance.py), on demand, and the audit log's tamper check; `portal keys rotate`,
a new token-signing key."""

import argparse
import json
import re
import sys
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, audit_chain, audit_purge, db, retention, signing_keys
from portal.clock import system_clock
from portal.settings import Settings


def add_commands(commands: Any) -> None:
    purge = commands.add_parser(
        "purge", help="delete expired tokens, ended sessions and stale throttle counters"
    )
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(run=purge_command)

    audit = commands.add_parser("audit", help="the tamper-evident audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="seal new events, then check the whole chain")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=audit_verify_command)
    cut = audit_sub.add_parser("purge", help="delete old events, keeping the rest verifiable")
    cut.add_argument("--older-than", required=True, type=days, metavar="DAYS", help="e.g. 400d")
    cut.add_argument("--json", action="store_true")
    cut.set_defaults(run=audit_purge_command)

    keys = commands.add_parser("keys", help="the keys that sign ID tokens and logout tokens")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate",
        help="publish new keys now and sign with them in 15 minutes; the old ones stay published "
        "until their tokens expire",
    )
    rotate.add_argument(
        "--now", action="store_true", help="sign with the new keys at once (a compromised key)"
    )
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(run=keys_rotate_command)


def days(value: str) -> timedelta:
    match = re.fullmatch(r"([0-9]{1,5})d", value)
    if match is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days, e.g. 400d")
    return timedelta(days=int(match[1]))


def show(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text)


def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    policy = retention.Policy.from_settings(settings)

    async def work(session: AsyncSession) -> dict[str, int] | None:
        return await retention.purge(session, now=system_clock(), policy=policy, wait=True)

    deleted = db.run_in_session(settings, work) or {}
    show(args, deleted, "deleted " + ", ".join(f"{n:,} {t}" for t, n in deleted.items()))
    return 0


def audit_verify_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> audit_chain.Report:
        return await audit_chain.verify(session, now=system_clock())

    report = db.run_in_session(settings, work)
    if args.json:
        print(json.dumps(report.as_json()))
    elif report.ok:
        print(f"audit log intact: {report.events:,} events, head {report.head.hash}")
    else:
        print(f"portal: audit log NOT intact: {report.problem}", file=sys.stderr)
    return 0 if report.ok else 1


def audit_purge_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> audit_purge.Purged:
        return await audit_purge.purge(session, older_than=args.older_than, now=system_clock())

    purged = db.run_in_session(settings, work)
    data = {
        "events": purged.events,
        "cutoff": purged.cutoff.isoformat(),
        "checkpoint_seq": purged.checkpoint.seq,
        "checkpoint_hash": purged.checkpoint.hash,
    }
    text = (
        f"purged {purged.events:,} audit events from before {purged.cutoff:%Y-%m-%d %H:%M} UTC; "
        f"the chain goes on from position {purged.checkpoint.seq}"
    )
    show(args, data, text)
    return 0


def keys_rotate_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[list[str], str]:
        now = system_clock()
        keys = await signing_keys.rotate(session, now=now, settings=settings, immediately=args.now)
        kids = [key.kid for key in keys]
        signs_from = max(key.signs_from or now for key in keys).isoformat(timespec="seconds")
        await audit.record(
            session, "keys.rotated", via="cli", kids=kids, signs_from=signs_from, at_once=args.now
        )
        return kids, signs_from

    kids, signs_from = db.run_in_session(settings, work) or ([], "")
    text = f"published {', '.join(kids)}; signing with them from {signs_from}"
    show(args, {"kids": kids, "signs_from": signs_from}, text)
    return 0
