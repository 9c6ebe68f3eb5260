"""pydantic's complaints about a value, in sentences for people: "Paid through must be a date
written as YYYY-MM-DD, e.g. 2026-12-31." rather than "Input should be a valid date or datetime,
invalid character in year"."""

from pydantic_core import ErrorDetails

DATE_TYPES = (
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
)


def for_people(error: ErrorDetails, label: str) -> str:
    """One error of a field called `label` (as staff read it) as a sentence."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "missing" or (kind in ("string_type", "string_too_short") and not error["input"]):
        return f"{label} is required."
    if kind in DATE_TYPES:
        return f"{label} must be a date written as YYYY-MM-DD, e.g. 2026-12-31."
    if kind == "string_too_long":
        return f"{label} must be at most {context.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return f"{label} may use only letters, digits and . _ -"
    if kind == "extra_forbidden":
        return f"{label} is not something the portal keeps about a member."
    if kind == "value_error":
        return f"{label} {str(error['msg']).removeprefix('Value error, ')}."
    return f"{label}: {error['msg']}."
