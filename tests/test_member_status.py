from datetime import date

from portal.auth import throttle
from portal.member_status import badges, lapsed_since
from portal.models import Member

TODAY = date(2026, 3, 15)


def test_lapsed_from_the_day_after_the_paid_through_date() -> None:
    assert lapsed_since(date(2026, 3, 15), TODAY) is None  # paid through today: current
    assert lapsed_since(date(2026, 3, 14), TODAY) == date(2026, 3, 15)
    assert lapsed_since(None, TODAY) is None  # nothing says when it ended


def words(member: Member, lock: str | None = None) -> list[str]:
    return [b.text for b in badges(member, today=TODAY, lock=lock)]


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
    member = Member(imis_id="1", username="a", source="imis", password_hash=None)
    assert words(member) == ["Current"]
