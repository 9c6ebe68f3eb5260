"""A signed cookie's signature checked once per process (portal/signed_cookies.py)."""

import time

import pytest
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.signed_cookies import Checked


def test_a_value_checked_for_one_purpose_is_not_taken_for_another() -> None:
    member = URLSafeTimedSerializer("key", salt="portal-member-session")
    staff = URLSafeTimedSerializer("key", salt="portal-staff-session")
    checked = Checked()
    value = member.dumps("session-id")
    assert checked.loads(member, value, 60) == "session-id"
    with pytest.raises(BadSignature):
        checked.loads(staff, value, 60)
    with pytest.raises(BadSignature):
        checked.loads(member, tampered(value), 60)


def tampered(value: str) -> str:
    """The value with the first character of its signature changed. Not the last: base64's last
    character carries padding bits, so some changes to it decode to the very same signature."""
    at = value.rindex(".") + 1
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


def test_a_value_checked_before_still_ages() -> None:
    serializer = URLSafeTimedSerializer("key", salt="s")
    checked = Checked()
    value = serializer.dumps({"csrf_token": "t"})
    assert checked.loads(serializer, value, 1) == {"csrf_token": "t"}
    time.sleep(2.1)
    with pytest.raises(SignatureExpired):
        checked.loads(serializer, value, 1)
    assert checked.loads(serializer, value, None) == {"csrf_token": "t"}
