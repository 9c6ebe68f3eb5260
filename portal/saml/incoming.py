"""What /saml/sso and /saml/slo share of a request arriving: its binding read from the browser's
request, a POSTed one carried on as a GET of its own, the portal's issuer it was sent to, and a
refusal audited."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from quart import redirect, request
from quart.typing import ResponseReturnValue
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, clock, db, settings
from portal.saml import bindings, names
from portal.saml import requests as saml_requests
from portal.saml.refusals import Refused
from portal.saml.requests import Received

# The portal's own mark on a request it carries on (never the SP's: its signature covers only
# SAMLRequest, RelayState and SigAlg): this one came by HTTP-POST, its signature in its XML.
POSTED = "posted"


async def post_as_get(path: str, event: str) -> ResponseReturnValue:
    """HTTP-POST (Bindings §3.5). A cross-site POST carries no SameSite=Lax session cookie, so
    the request goes on as a GET of its own, a top-level navigation, which does: its XML,
    enveloped signature and all, DEFLATEd into the query with the mark `posted`, and checked
    there as it would have been here (nothing is kept on the server)."""
    form = await request.form
    # A LogoutResponse (the front-channel chain's answers at /saml/slo) goes on the same way.
    message = "SAMLResponse" if "SAMLResponse" in form else "SAMLRequest"
    try:
        xml = bindings.from_post(form.get(message, ""))
        relay_state = bindings.relay_state(form.get("RelayState"))
    except Refused as refusal:
        async with db.transaction() as db_session:
            await record_refusal(db_session, event, None, refusal)
        raise
    query = {message: bindings.to_redirect(xml), POSTED: "1"}
    if relay_state is not None:
        query["RelayState"] = relay_state
    return redirect(f"{path}?{urlencode(query)}", 303)


def received(message: str = "SAMLRequest") -> Received:
    """The message (SAMLRequest or SAMLResponse) in this GET's query string, by the binding it
    came with."""
    value = request.args.get(message)
    if not value:
        raise Refused("missing", f"The request has no {message}: start again at the site.")
    if request.args.get(POSTED) == "1":
        return Received(names.POST, bindings.to_post(bindings.from_redirect(value)))
    return Received(names.REDIRECT, value, raw_query())


@dataclass(frozen=True)
class Arrived:
    """A request read as far as it can be before its SP is looked up."""

    received: Received
    relay_state: str | None
    root: Any  # the request's XML, parsed by the one hardened parser
    entity_id: str  # the SP its Issuer claims to be (checked against its signature later)


async def arrived(event: str) -> Arrived:
    """This GET's request, read — or a refusal, audited as `event`, raised."""
    try:
        return read_arrival("SAMLRequest")
    except Refused as refusal:
        async with db.transaction() as db_session:
            await record_refusal(db_session, event, None, refusal)
        raise


def read_arrival(message: str) -> Arrived:
    """This GET's `message` (SAMLRequest or SAMLResponse), read; Refused if it cannot be."""
    found = received(message)
    relay_state = bindings.relay_state(request.args.get("RelayState"))
    root = saml_requests.read(found)
    return Arrived(found, relay_state, root, saml_requests.claimed_issuer(root))


def raw_query() -> str:
    return request.query_string.decode("ascii", "replace")


def portal_issuer() -> str:
    return settings.current().issuer_for(request.host_url.rstrip("/"))


async def record_refusal(
    db_session: AsyncSession, event: str, vendor_key: str | None, refusal: Refused
) -> None:
    await audit.record_anonymous(
        db_session, event, now=clock.now(), vendor_key=vendor_key,
        client_address=request.remote_addr, reason=refusal.reason,
    )  # fmt: skip


async def refuse_head() -> ResponseReturnValue | None:
    """HEAD would run the GET view — sign a member in to a site, or out of the portal — for a
    request that only asked for headers (a link checker, a preview): refused before anything is
    done, on both endpoints (each blueprint's before_request)."""
    if request.method == "HEAD":
        return "", 405, {"Allow": "GET, POST"}
    return None
