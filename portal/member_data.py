"""What the portal holds about a member, as the JSON file they download from their account page
("Download your data", GDPR's right of access): their member record (never the password hash),
their sessions as the portal keeps them, the sites they used, what each front end holds (OpenID
Connect's grants) and their audit events of the last 12 months."""

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, audit_events, front_ends, member_account, session_vendors, user_agents
from portal.auth.models import AuthSession
from portal.models import Member, id_of

AUDIT_WINDOW = timedelta(days=365)
MAX_EVENTS = 1000  # a bounded download, whatever the log holds
MAX_SESSIONS = 1000
# Never in the download: the password's hash is a credential, and the rest is the portal's own
# bookkeeping of the record, not something about the member (search_text: its names, folded).
LEFT_OUT = frozenset({"password_hash", "id", "search_text"})


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def member_record(member: Member) -> dict[str, Any]:
    fields = member.model_dump()
    return {name: plain(value) for name, value in fields.items() if name not in LEFT_OUT}


async def _sessions(db: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    query = (
        select(AuthSession)
        .where(col(AuthSession.member_id) == member_id)
        .order_by(col(AuthSession.id).desc())
        .limit(MAX_SESSIONS)
    )
    rows = list(await db.exec(query))
    reached = await session_vendors.vendors_used(db, [id_of(row) for row in rows])
    return [
        {
            "signed_in_at": plain(row.created_at),
            "last_active_at": plain(row.last_seen_at),
            "ended_at": plain(row.ended_at),
            "browser": user_agents.browser_name(row.user_agent),
            "user_agent": row.user_agent,
            "address": row.client_address,
            "network": member_account.network_in_words(row.client_address),
            "sites": [vendor.name for vendor in reached.get(id_of(row), [])],
        }
        for row in rows
    ]


async def _events(db: AsyncSession, member_id: int, now: datetime) -> list[dict[str, Any]]:
    found = await audit.member_events(db, member_id, since=now - AUDIT_WINDOW, limit=MAX_EVENTS)
    return [
        {
            "at": plain(event.occurred_at),
            "what": audit_events.event_words(
                event.event, event.vendor_key, failed=event.outcome == "failure"
            ),
            "event": event.event,
            "outcome": event.outcome,
            "site": event.vendor_key,
            "address": event.client_address,
            "details": event.details,
        }
        for event in found
    ]


async def everything(db: AsyncSession, member: Member, *, now: datetime) -> dict[str, Any]:
    member_id = id_of(member)
    used = await member_account.sites_used(db, member_id)
    return {
        "downloaded_at": now.isoformat(),
        "member": member_record(member),
        "sessions": await _sessions(db, member_id),
        "sites_used": [
            {
                "site": site.vendor.name,
                "first_used_at": plain(site.first_at),
                "last_used_at": plain(site.last_at),
            }
            for site in used
        ],
        **await front_ends.member_data(db, member_id),
        "audit_events": await _events(db, member_id, now),
    }
