"""Database ids from outside, in paths and query strings: only what their column can hold.

PostgreSQL answers a parameter beyond its column's type with an error, which would reach the
person who typed it as a 500. An id out of range cannot name a row, so it is refused before any
query runs: in a path with a 404 (no such page), in a query argument with a 400 that says why."""

import re
from functools import cache

from quart import Quart
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BaseConverter

from portal.errors import PortalError

MAX_ID = 2**31 - 1  # an integer column: every table's id but the audit log's
MAX_BIG_ID = 2**63 - 1  # a bigint column: the audit log's


def numbers_up_to(maximum: int) -> str:
    """A regex of the decimal numbers from 1 to `maximum`, one spelling each: ASCII digits, no
    sign, no leading zero. Deciding the range in the regex, not after it, means an id out of
    range matches no route at all: a 404 for every method (a refusal in to_python is a 405)."""
    digits = str(maximum)
    shorter = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    same_length = [
        f"{digits[:i]}[{low}-{chr(ord(digit) - 1)}][0-9]{{{len(digits) - i - 1}}}"
        for i, digit in enumerate(digits)
        for low in ["1" if i == 0 else "0"]
        if digit > low
    ]
    return "|".join([*shorter, *same_length, digits])


@cache
def _whole_number(maximum: int) -> re.Pattern[str]:
    return re.compile(f"(?:{numbers_up_to(maximum)})")


class IdConverter(BaseConverter):
    """`<id:member_id>`: an id of an integer column, 1 to MAX_ID."""

    regex = numbers_up_to(MAX_ID)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


class BigIdConverter(IdConverter):
    """`<big_id:event_id>`: an id of a bigint column, 1 to MAX_BIG_ID."""

    regex = numbers_up_to(MAX_BIG_ID)


def int_argument(args: MultiDict[str, str], name: str, *, maximum: int = MAX_ID) -> int | None:
    """The query argument `name` as a whole number from 1 to `maximum`; None when absent or
    blank. Anything else is a 400 naming the argument, rather than silently ignored."""
    raw = args.get(name, "")
    if not raw:
        return None
    if not _whole_number(maximum).fullmatch(raw):
        raise PortalError(f"{name} must be a whole number from 1 to {maximum}.")
    return int(raw)


def init_app(app: Quart) -> None:
    """Before any blueprint: a rule looks up its converters when it is added to the map."""
    app.url_map.converters.update(id=IdConverter, big_id=BigIdConverter)
