"""`portal purge`, `portal audit verify` and `portal audit purge`: what the background upkeep
does (portal/maintenance.py), on demand, and the audit log's tamper check; `portal keys list,
rotate, revoke, reseal`: the token-signing keys (portal/key_management.py)."""

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, audit_chain, audit_purge, db, key_management, retention
from portal.clock import system_clock
from portal.settings import Settings
from portal.signing_keys import PUBLISHED_BEFORE_SIGNING


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
    listing = keys_sub.add_parser("list", help="every signing key and its state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=keys_list_command)
    rotate = keys_sub.add_parser(
        "rotate",
        help="publish new keys now and sign with them in 15 minutes (or --signs-in); the old "
        "ones stay published until their tokens expire",
    )
    when = rotate.add_mutually_exclusive_group()
    when.add_argument(
        "--now",
        action="store_true",
        help="a compromised key: withdraw every published key and sign with new ones at once",
    )
    when.add_argument(
        "--signs-in",
        type=lead_time,
        default=PUBLISHED_BEFORE_SIGNING,
        metavar="DURATION",
        help="how long the new keys are published before they sign, e.g. 7d or 12h (15m to 30d; "
        "default 15m): longer for SAML vendors that read the metadata once a day, or were given "
        "it by hand",
    )
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(run=keys_rotate_command)
    revoke = keys_sub.add_parser(
        "revoke", help="withdraw one key at once (a new one takes over if it was signing)"
    )
    revoke.add_argument("kid")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(run=keys_revoke_command)
    reseal = keys_sub.add_parser(
        "reseal",
        help="re-encrypt the stored keys with PORTAL_SECRET_KEY, before an old secret key "
        "leaves PORTAL_SECRET_KEY_FALLBACKS",
    )
    reseal.add_argument("--json", action="store_true")
    reseal.set_defaults(run=keys_reseal_command)


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


def stamp(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def keys_list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> list[key_management.Listed]:
        return await key_management.listing(session, now=system_clock(), settings=settings)

    listed = db.run_in_session(settings, work) or []
    if args.json:
        print(json.dumps({"keys": [key.as_json() for key in listed]}))
        return 0
    print(f"{'KID':<18} {'ALG':<6} {'SIGNS FROM':<26} {'RETIRES AT':<26} STATE")
    for key in listed:
        state = key_management.STATES[key.state]
        print(
            f"{key.kid:<18} {key.alg:<6} {stamp(key.signs_from):<26} "
            f"{stamp(key.retires_at):<26} {state}"
        )
    return 0


LEAD_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
LONGEST_LEAD = timedelta(days=30)


def lead_time(value: str) -> timedelta:
    """`--signs-in`: a number and m, h or d, from 15 minutes (the least any vendor's cached
    copy of the keys needs) to 30 days."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*([mhd])\s*", value.lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration such as 15m, 12h or 7d")
    lead = timedelta(**{LEAD_UNITS[found[2]]: int(found[1])})
    if not PUBLISHED_BEFORE_SIGNING <= lead <= LONGEST_LEAD:
        raise argparse.ArgumentTypeError("the new keys must sign in between 15m and 30d")
    return lead


def keys_rotate_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> dict[str, Any]:
        now = system_clock()
        rotated = await key_management.rotate(
            session, now=now, settings=settings, immediately=args.now, lead=args.signs_in
        )
        kids = [key.kid for key in rotated.new]
        signs_from = stamp(max(key.signs_from or now for key in rotated.new))
        await audit.record(
            session, "keys.rotated", via="cli", kids=kids, signs_from=signs_from,
            at_once=args.now, withdrawn=rotated.withdrawn,
        )  # fmt: skip
        return {"kids": kids, "signs_from": signs_from, "withdrawn": rotated.withdrawn}

    done = db.run_in_session(settings, work) or {}
    text = f"published {', '.join(done['kids'])}; signing with them from {done['signs_from']}"
    if done["withdrawn"]:
        text += f"; withdrew {', '.join(done['withdrawn'])}"
    show(args, done, text)
    return 0


def keys_revoke_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> dict[str, Any]:
        revoked = await key_management.revoke(
            session, args.kid, now=system_clock(), settings=settings
        )
        new = revoked.replacement
        done = {
            "kid": revoked.kid,
            "already": revoked.already,
            "replaced_by": new.kid if new else None,
            "signs_from": stamp(new.signs_from) if new else None,
        }
        if revoked.already is None:
            await audit.record(
                session, "keys.revoked", via="cli", kids=[revoked.kid],
                replaced_by=done["replaced_by"], signs_from=done["signs_from"],
            )  # fmt: skip
        return done

    done = db.run_in_session(settings, work) or {}
    if done["already"]:
        text = f"{done['kid']} was already {done['already']}: nothing changed"
    else:
        text = f"withdrew {done['kid']}"
        if done["replaced_by"]:
            text += f"; {done['replaced_by']} signs from {done['signs_from']}"
    show(args, done, text)
    return 0


def keys_reseal_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> dict[str, Any]:
        done = await key_management.reseal(session, now=system_clock(), settings=settings)
        await audit.record(session, "keys.resealed", via="cli", **done)
        return done

    done = db.run_in_session(settings, work) or {}
    also = " and the pairwise key" if done["pairwise"] else ""
    show(args, done, f"resealed {len(done['kids'])} signing keys{also} with PORTAL_SECRET_KEY")
    return 0
