"""The field catalogue (protocol.md §5): what a vendor may receive about a member."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from portal import good_standing

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

# What each field holds, for vendors (the user service's OpenAPI document and docs/protocol.md).
DESCRIPTIONS: dict[str, str] = {
    "ImisId": "The member's iMIS ID: stable, the key to keep",
    "Username": "Their sign-in name (for members from iMIS, their iMIS username)",
    "FirstName": "First name",
    "LastName": "Last name",
    "FullName": "Full name; first and last name joined when none is stored",
    "InformalName": "The name they go by",
    "Prefix": "Prefix, e.g. Dr",
    "Suffix": "Suffix, e.g. Jr",
    "Designation": "Professional designation, e.g. CPA",
    "Email": "Primary email address",
    "Company": "Company or organisation",
    "Title": "Job title",
    "Phone": "Phone number",
    "Address1": "First line of the address",
    "City": "City",
    "State": "State or province",
    "PostalCode": "Postal code",
    "Country": "Country",
    "MemberType": "iMIS member type code, e.g. REG",
    "MemberStatus": "iMIS status code; A is an active record",
    "JoinDate": "Date the membership began (ISO 8601, YYYY-MM-DD)",
    "PaidThrough": "Date dues are paid through (ISO 8601, YYYY-MM-DD)",
    "IsMember": "true when the member is in good standing: MemberStatus is A and PaidThrough is "
    "today or later (or within the association's grace period)",
}
DATE_FIELDS = ("JoinDate", "PaidThrough")

# Each field's name as staff read it on the dashboard (DESCRIPTIONS is its one-line meaning).
LABELS: dict[str, str] = {
    "ImisId": "iMIS ID",
    "Username": "Username",
    "FirstName": "First name",
    "LastName": "Last name",
    "FullName": "Full name",
    "InformalName": "Informal name",
    "Prefix": "Prefix",
    "Suffix": "Suffix",
    "Designation": "Designation",
    "Email": "Email",
    "Company": "Company",
    "Title": "Job title",
    "Phone": "Phone",
    "Address1": "Address line 1",
    "City": "City",
    "State": "State or province",
    "PostalCode": "Postal code",
    "Country": "Country",
    "MemberType": "Member type",
    "MemberStatus": "Member status",
    "JoinDate": "Joined",
    "PaidThrough": "Paid through",
    "IsMember": "Current member",
}
# iMIS codes whose meaning is standard; an association's own codes are shown as they are.
MEMBER_STATUSES: dict[str, str] = {"A": "Active", "I": "Inactive"}
MEMBER_TYPES: dict[str, str] = {"REG": "Regular", "STU": "Student", "NM": "Non-member"}

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

# A member's row as the raw hot-path statements select it (alias `m`): what a vendor may receive
# (never the password hash), for the member object and UserInfo.
MEMBER_FIELDS = ", ".join(f"m.{column}" for column in ("id", "enabled", *MEMBER_COLUMNS.values()))

OUTPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
# The portal session's id, last in every member object (the `sid` of logout tokens, so a vendor
# ends exactly the session a token names); no field is sent under this name.
SESSION_ID = "sid"
SESSION_ID_DESCRIPTION = (
    "The portal session this sign-in belongs to: the sid of the logout tokens the portal sends "
    "when that session ends. Keep it with your session, and end exactly the sessions with a "
    "logout token's sid"
)


def field_value(member: Any, field: str, terms: good_standing.Terms) -> str | bool | None:
    if field == "IsMember":
        return good_standing.of_member(member, terms).good
    value = getattr(member, MEMBER_COLUMNS[field])
    if field == "FullName" and not value:
        value = " ".join(part for part in (member.first_name, member.last_name) if part) or None
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)


def member_object(
    member: Any, selection: Iterable[tuple[str, str]], terms: good_standing.Terms, *, sid: str
) -> dict[str, str | bool | None]:
    """The JSON a vendor receives (§5): exactly its (field, output name) pairs, in order, then
    the portal session's `sid`."""
    found = {output: field_value(member, field, terms) for field, output in selection}
    # A field saved under the name before it was kept gives way: the sid says which session a
    # logout token ends, and a wrong one would end none.
    found.pop(SESSION_ID, None)
    return {**found, SESSION_ID: sid}


def label(field: str) -> str:
    """`PaidThrough` -> "Paid through"; a name outside the catalogue stays as it is."""
    return LABELS.get(field, field)


def code_meaning(code: str | None, meanings: dict[str, str]) -> str | None:
    """`REG` -> "Regular (REG)" where the code's meaning is known, else the code itself."""
    if code is None or code not in meanings:
        return code
    return f"{meanings[code]} ({code})"


def column_label(column: str) -> str:
    """A Member column (`paid_through`) by its field's label ("Paid through")."""
    field = next((f for f, c in MEMBER_COLUMNS.items() if c == column), None)
    return label(field) if field else column.replace("_", " ").capitalize()
