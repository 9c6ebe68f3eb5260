"""What a SAML vendor learns of a member: the vendor's returned fields (the same selection and
renames as the Enhanced member object and OpenID Connect's claims, portal/catalogue.py) as the
assertion's attributes.

A field with a standard attribute (inetOrgPerson, as saml2int and the eduPerson schema name
them) goes by its standard name: with the vendor's NameFormat `uri`, its urn:oid name with the
friendly name beside it; with `basic`, the friendly name. A field staff renamed goes by that
name, and any other by its catalogue name, both with NameFormat basic (they are not URIs).
A field with no value is left out; true and false are written as such. A vendor receiving
IsMember also gets eduPersonAffiliation (eduPerson §2.2.1): `member` for a current member,
`affiliate` for anyone else, from the same IsMember the Enhanced member object carries."""

from collections.abc import Iterable
from typing import Any

from portal import good_standing
from portal.catalogue import field_value
from portal.saml import names
from portal.saml.responses import Attribute

# catalogue field -> (urn:oid name, friendly name)
STANDARD: dict[str, tuple[str, str]] = {
    "Email": ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    "FirstName": ("urn:oid:2.5.4.42", "givenName"),
    "LastName": ("urn:oid:2.5.4.4", "sn"),
    "FullName": ("urn:oid:2.16.840.1.113730.3.1.241", "displayName"),
}
AFFILIATION = ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "eduPersonAffiliation")


def of_member(
    member: Any,
    selection: Iterable[tuple[str, str]],
    terms: good_standing.Terms,
    *,
    name_format: str,
) -> list[Attribute]:
    """The attributes of `member` for a vendor receiving `selection` ((field, output name)
    pairs, in order), with its NameFormat choice (names.ATTRNAME_URI or ATTRNAME_BASIC)."""
    selection = list(selection)  # read twice
    found: list[Attribute] = []
    for field, output in selection:
        value = field_value(member, field, terms)
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else value
        found.append(named(field, output, name_format, text))
    if any(field == "IsMember" for field, _ in selection):
        # good_standing.py is the one rule, here as in the member object's IsMember.
        current = good_standing.of_member(member, terms).good
        found.append(_standard(AFFILIATION, name_format, "member" if current else "affiliate"))
    return found


def named(field: str, output: str, name_format: str, value: str) -> Attribute:
    standard = STANDARD.get(field)
    if standard is None or output != field:
        return Attribute(output, (value,), name_format=names.ATTRNAME_BASIC)
    return _standard(standard, name_format, value)


def _standard(standard: tuple[str, str], name_format: str, value: str) -> Attribute:
    oid, friendly = standard
    if name_format == names.ATTRNAME_URI:
        return Attribute(oid, (value,), name_format=names.ATTRNAME_URI, friendly_name=friendly)
    return Attribute(friendly, (value,), name_format=names.ATTRNAME_BASIC)
