"""The field catalogue (protocol.md §5): what a vendor may receive about a member."""

from collections.abc import Iterable
from datetime import date
from typing import Any

CATALOGUE: tuple[str, ...] = (
    "ImisId",
    "Username",
    "FirstName",
    "LastName",
    "FullName",
    "InformalName",
    "Prefix",
    "Suffix",
    "Designation",
    "Email",
    "Company",
    "Title",
    "Phone",
    "Address1",
    "City",
    "State",
    "PostalCode",
    "Country",
    "MemberType",
    "MemberStatus",
    "JoinDate",
    "PaidThrough",
    "IsMember",
)

DEFAULT_SELECTION: tuple[str, ...] = ("ImisId", "FirstName", "LastName", "Email", "MemberType")

# Where each stored field lives on the Member row; IsMember is computed, FullName has a fallback.
MEMBER_COLUMNS: dict[str, str] = {
    "ImisId": "imis_id",
    "Username": "username",
    "FirstName": "first_name",
    "LastName": "last_name",
    "FullName": "full_name",
    "InformalName": "informal_name",
    "Prefix": "prefix",
    "Suffix": "suffix",
    "Designation": "designation",
    "Email": "email",
    "Company": "company",
    "Title": "title",
    "Phone": "phone",
    "Address1": "address1",
    "City": "city",
    "State": "state",
    "PostalCode": "postal_code",
    "Country": "country",
    "MemberType": "member_type",
    "MemberStatus": "member_status",
    "JoinDate": "join_date",
    "PaidThrough": "paid_through",
}

ACTIVE_STATUS = "A"  # iMIS's code for an active member record
OUTPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"


def is_member(status: str | None, paid_through: date | None, today: date) -> bool:
    """Active status and paid up: no PaidThrough at all counts as not paid."""
    return status == ACTIVE_STATUS and paid_through is not None and paid_through >= today


def field_value(member: Any, field: str, today: date) -> str | bool | None:
    if field == "IsMember":
        return is_member(member.member_status, member.paid_through, today)
    value = getattr(member, MEMBER_COLUMNS[field])
    if field == "FullName" and not value:
        value = " ".join(part for part in (member.first_name, member.last_name) if part) or None
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)


def member_object(
    member: Any, selection: Iterable[tuple[str, str]], today: date
) -> dict[str, str | bool | None]:
    """The JSON a vendor receives (§5): exactly its (field, output name) pairs, in order."""
    return {output: field_value(member, field, today) for field, output in selection}
