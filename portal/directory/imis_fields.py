"""Where each catalogue field (protocol.md §5) comes from in iMIS: data, not code.

A field map sends a catalogue field name to a path like ``Person.PrimaryOrganization.Name``.
The first step names a source document:

- ``Person``: the PersonData from ``GET /api/Person/{id}`` (or ``/api/Party/{id}``);
- ``CsContact``: the ``Properties`` of ``GET /api/CsContact/{id}`` as name -> value, so
  ``CsContact.MemberType`` is the property named ``MemberType``.

Later steps walk into objects by key. Inside a ``$values`` collection, a number picks that
item (``AddressLines.0``) and ``primary`` picks the item marked ``IsPrimary``, or the first
item when none is marked. ``a|b`` means "a, or b when a has no value".

``ImisId`` and ``Username`` are not mapped: they are the member's identity and always come
from the ``/api/User`` lookup. ``IsMember`` is computed elsewhere.
"""

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

SOURCES = frozenset({"Person", "CsContact"})
DATE_FIELDS = frozenset({"JoinDate", "PaidThrough"})

_ADDRESS = "Person.Addresses.primary.Address"

DEFAULT_FIELD_MAP: Mapping[str, str] = MappingProxyType(
    {
        "FirstName": "Person.PersonName.FirstName",
        "LastName": "Person.PersonName.LastName",
        "FullName": "Person.PersonName.FullName",
        "InformalName": "Person.PersonName.InformalName",
        "Prefix": "Person.PersonName.NamePrefix",
        "Suffix": "Person.PersonName.NameSuffix",
        "Designation": "Person.PersonName.Designation",
        "Email": "Person.Emails.primary.Address",
        "Company": "Person.PrimaryOrganization.Name",
        "Title": "Person.PrimaryOrganization.Title",
        "Phone": "Person.Phones.primary.Number",
        "Address1": f"{_ADDRESS}.AddressLines.0",
        "City": f"{_ADDRESS}.CityName",
        "State": f"{_ADDRESS}.CountrySubEntityCode|{_ADDRESS}.CountrySubEntityName",
        "PostalCode": f"{_ADDRESS}.PostalCode",
        "Country": f"{_ADDRESS}.CountryCode|{_ADDRESS}.CountryName",
        "MemberType": "CsContact.MemberType",
        "MemberStatus": "CsContact.Status",
        "JoinDate": "CsContact.JoinDate",
        "PaidThrough": "CsContact.PaidThrough",
    }
)

MAPPABLE_FIELDS = tuple(DEFAULT_FIELD_MAP)


def check_field_map(field_map: Mapping[str, str]) -> None:
    """Raise ValueError naming the first entry that cannot work."""
    for field_name, spec in field_map.items():
        if field_name not in MAPPABLE_FIELDS:
            raise ValueError(f"iMIS field map: {field_name!r} is not a mappable catalogue field")
        for path in spec.split("|"):
            source = path.strip().split(".")[0]
            if source not in SOURCES:
                raise ValueError(f"iMIS field map: {field_name!r} reads unknown source {source!r}")


def resolve_fields(
    field_map: Mapping[str, str], documents: Mapping[str, Any]
) -> dict[str, str | None]:
    """Every mappable catalogue field -> its text value, or None when iMIS has none."""
    fields: dict[str, str | None] = {}
    for field_name in MAPPABLE_FIELDS:
        spec = field_map.get(field_name)
        value = _resolve(spec, documents) if spec else None
        fields[field_name] = _iso_date(value) if field_name in DATE_FIELDS else value
    return fields


def values_of(collection: Any) -> list[Any]:
    """The items of an ASI ``{"$values": [...]}`` collection (or a bare list); else none."""
    if isinstance(collection, dict):
        collection = collection.get("$values")
    return collection if isinstance(collection, list) else []


def property_values(entity: Any) -> dict[str, Any]:
    """A GenericEntityData's ``Properties`` as a name -> value dict."""
    if not isinstance(entity, dict):
        return {}
    return {
        item["Name"]: item.get("Value")
        for item in values_of(entity.get("Properties"))
        if isinstance(item, dict) and isinstance(item.get("Name"), str)
    }


def _resolve(spec: str, documents: Mapping[str, Any]) -> str | None:
    for path in spec.split("|"):
        source, *steps = path.strip().split(".")
        text = _as_text(_walk(documents.get(source), steps))
        if text is not None:
            return text
    return None


def _walk(node: Any, steps: list[str]) -> Any:
    for step in steps:
        if step == "primary":
            node = _primary_item(node)
        elif step.isdigit():
            items = values_of(node)
            node = items[int(step)] if int(step) < len(items) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def _primary_item(collection: Any) -> Any:
    items = [item for item in values_of(collection) if isinstance(item, dict)]
    marked = [item for item in items if item.get("IsPrimary") is True]
    if marked:
        return marked[0]
    return items[0] if items else None


def _as_text(value: Any) -> str | None:
    """Plain values and ASI ``{"$type": …, "$value": …}`` wrappers alike, as stripped text."""
    if isinstance(value, dict):
        value = value.get("$value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _iso_date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None
