from datetime import date

from portal.auth import throttle
from portal.good_standing import Terms
from portal.member_status import badges
from portal.models import Member

TODAY = date(2026, 3, 15)


def words(member: Member, lock: str | None = None, grace: int = 0) -> list[str]:
    return [b.text for b in badges(member, terms=Terms(TODAY, grace), lock=lock)]


def test_the_standing_badge_says_why_a_member_is_or_is_not_current() -> None:
    member = Member(imis_id="1", username="a", password_hash="x", paid_through=TODAY)
    assert words(member) == ["Current"]  # paid through today
    member.paid_through = date(2026, 3, 14)
    assert words(member) == ["Lapsed since 15 Mar 2026"]
    assert words(member, grace=1) == ["Current (grace period)"]
    member.paid_through = None
    assert words(member, grace=30) == ["No paid-through date"]  # nothing says it was paid
    member.member_status, member.paid_through = "I", date(2030, 1, 1)
    assert words(member) == ["Inactive (status I)"]


def test_every_status_that_holds_is_a_badge_most_pressing_first() -> None:
    member = Member(imis_id="1", username="a", password_hash="x", paid_through=date(2030, 1, 1))
    assert words(member) == ["Current"]
    member.enabled, member.password_hash = False, None
    member.paid_through = date(2024, 12, 31)
    assert words(member, throttle.LOCKED) == [
        "Disabled", "Locked", "No password", "Lapsed since 1 Jan 2025"
    ]  # fmt: skip
    assert words(member, throttle.DELAYED)[1] == "Throttled"


def test_an_imis_member_is_never_without_a_password_here() -> None:
    member = Member(
        imis_id="1", username="a", source="imis", password_hash=None, paid_through=TODAY
    )
    assert words(member) == ["Current"]
