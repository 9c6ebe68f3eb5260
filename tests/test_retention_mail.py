"""Retention of the account-recovery tables: expired password links, and outbox rows once
delivered or given up (mail's bodies already dropped), go; live links and waiting mail stay."""

from portal.models import AccountLink
from portal.outbox.models import OutboxItem
from tests.flows import add_member
from tests.test_retention import DAY, NOW, add, ids, purge


def link(n: int, expires_in_days: float, **used: object) -> AccountLink:
    expires = NOW + DAY * expires_in_days
    return AccountLink(
        token_hash=f"{n:064d}", purpose="reset", member_id=1, password_digest="0" * 64,
        created_at=expires - DAY, expires_at=expires, **used,
    )  # fmt: skip


def mail(**when: object) -> OutboxItem:
    return OutboxItem(
        kind="mail", payload={"purpose": "password_reset", "recipient": "ada@example.org"},
        created_at=NOW - DAY * 40, next_attempt_at=NOW - DAY * 40, **when,
    )  # fmt: skip


async def test_expired_links_go_live_ones_stay(database_url: str) -> None:
    await add_member(database_url)
    old, recent = await add(
        database_url, link(1, -2, voided_at=NOW - DAY * 3), link(2, -0.5, used_at=NOW - DAY)
    )
    [live] = await add(database_url, link(3, 0.01))
    await purge(database_url)
    assert await ids(database_url, "account_link") == [recent, live]
    assert old not in await ids(database_url, "account_link")


async def test_sent_and_given_up_mail_goes_after_thirty_days_waiting_mail_stays(
    database_url: str,
) -> None:
    old_sent, old_failed, new_sent, waiting = await add(
        database_url,
        mail(delivered_at=NOW - DAY * 31),
        mail(failed_at=NOW - DAY * 31),
        mail(delivered_at=NOW - DAY * 29),
        mail(),
    )
    await purge(database_url)
    assert await ids(database_url, "outbox") == [new_sent, waiting]
    assert old_sent and old_failed
