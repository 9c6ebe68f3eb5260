"""Hypercorn's access log, with every value escaped so that a request cannot forge a line.

Hypercorn logs the path percent-decoded: `/%0a1.2.3.4 … 200` would otherwise write a line of
the attacker's choosing, and `%1b[2J` reaches the operator's terminal. Controls, quotes and
backslashes are logged as \\xNN (other unprintable characters as \\uNNNN), as nginx does."""

import time
from collections.abc import Mapping

from hypercorn.logging import Logger
from hypercorn.typing import ResponseSummary, WWWScope

_QUOTING = {'"', "\\"}


def escape(value: str) -> str:
    """`value` with every character that could end or fake a field or a line escaped."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value  # nearly every value: checked at C speed, nothing to change
    return "".join(
        char if char.isprintable() and char not in _QUOTING else _escaped(char) for char in value
    )


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class EscapedAtoms(dict[str, str]):
    """The atoms of portal.serve.ACCESS_LOG_FORMAT, escaped; any other is "-". Hypercorn's own
    AccessLogAtoms copies every header and the whole environment into each request's atoms,
    which cost a share of the hand-off paths' time for nothing."""

    def __init__(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> None:
        client = request.get("client")
        headers = dict(request["headers"])
        method = request["method"] if request["type"] == "http" else "GET"
        protocol = request.get("http_version", "ws")
        length = dict(response.get("headers", [])).get(b"content-length") if response else None
        atoms = {
            "h": ":".join(str(part) for part in client) if client else "-",
            "t": time.strftime("[%d/%b/%Y:%H:%M:%S %z]"),
            "r": f"{method} {request['path']} {protocol}",  # never the query string: no tokens
            "s": str(response["status"]) if response else "-",
            "b": length.decode("latin1") if length else "-",
            "L": f"{request_time:.6f}",
            "a": headers.get(b"user-agent", b"-").decode("latin1"),
        }
        super().__init__({key: escape(value) for key, value in atoms.items()})

    def __missing__(self, key: str) -> str:
        return "-"


class AccessLogger(Logger):
    """Hypercorn's logger (Config.logger_class) with escaped access log values."""

    def atoms(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> Mapping[str, str]:
        return EscapedAtoms(request, response, request_time)
