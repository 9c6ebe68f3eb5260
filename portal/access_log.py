"""Hypercorn's access log, with every value escaped so that a request cannot forge a line.

Hypercorn logs the path percent-decoded: `/%0a1.2.3.4 … 200` would otherwise write a line of
the attacker's choosing, and `%1b[2J` reaches the operator's terminal. Controls, quotes and
backslashes are logged as \\xNN (other unprintable characters as \\uNNNN), as nginx does."""

from collections.abc import Mapping

from hypercorn.logging import AccessLogAtoms, Logger
from hypercorn.typing import ResponseSummary, WWWScope

_QUOTING = {'"', "\\"}


def escape(value: object) -> object:
    """`value` with every character that could end or fake a field or a line escaped."""
    if not isinstance(value, str):
        return value  # numbers: the request time
    return "".join(
        char if char.isprintable() and char not in _QUOTING else _escaped(char) for char in value
    )


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class EscapedAtoms(AccessLogAtoms):
    def __init__(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> None:
        super().__init__(request, response, request_time)
        # Once, after Hypercorn has derived its atoms from one another (%(a)s from the header).
        self.update({key: escape(value) for key, value in self.items()})


class AccessLogger(Logger):
    """Hypercorn's logger (Config.logger_class) with escaped access log values."""

    def atoms(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> Mapping[str, str]:
        return EscapedAtoms(request, response, request_time)
