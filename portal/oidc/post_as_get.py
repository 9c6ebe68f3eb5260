"""A request a vendor's page POSTs to the portal (an authorization request, Core §3.1.2.1; an
RP-Initiated Logout, §2) answered with a 303 to the same request as a GET: a cross-site POST
carries no SameSite=Lax session cookie, while the GET it is redirected to, a top-level
navigation, does — so the member's portal session is seen, as it is for a GET."""

from urllib.parse import urlencode

from quart import redirect, request
from quart.typing import ResponseReturnValue


async def redirect_to_get(path: str) -> ResponseReturnValue:
    form = await request.form
    return redirect(f"{path}?{urlencode(list(form.items(multi=True)))}", 303)
