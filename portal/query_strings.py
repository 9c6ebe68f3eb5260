"""How the portal reads a query string: UTF-8, with U+FFFD for bytes that are not UTF-8.

Werkzeug keeps such bytes percent-encoded, so `state=%ff` reached the rules as the valid-looking
text "%FF", and a vendor got back a state it never sent. As U+FFFD (which is also how Quart
reads a form body), a byte that is not text fails every rule that asks for ASCII, with that
rule's own message: for /sso/signin, its audited 400 page."""

from urllib.parse import parse_qsl

from quart import Request as QuartRequest
from werkzeug.datastructures import MultiDict
from werkzeug.utils import cached_property


class Request(QuartRequest):
    @cached_property
    def args(self) -> MultiDict[str, str]:
        query = self.query_string.decode("utf-8", "replace")
        pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
        args: MultiDict[str, str] = self.parameter_storage_class(pairs)
        return args
