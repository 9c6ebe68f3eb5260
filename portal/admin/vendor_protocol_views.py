"""A vendor's sign-in method: Enhanced SSO or OpenID Connect, and its OpenID Connect
registration (portal/oidc_registration.py holds the rules)."""

from dataclasses import dataclass

from quart import Blueprint, request
from quart.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from portal import audit, clock, db, oidc_registration, settings, vendor_rules, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done
from portal.admin.vendor_page import render_vendor
from portal.errors import InvalidField
from portal.oidc_registration import Registration

blueprint = Blueprint("admin_vendor_protocol", __name__)
MAX_TEXT = 30_000  # ten addresses of 2048 characters, and their line breaks


@dataclass(frozen=True)
class SignInForm:
    """The form as submitted, to show again when it is refused."""

    protocol: str
    redirect_uris: str
    post_logout_uris: str
    public_client: bool
    scopes: list[str]
    refresh_tokens: bool
    pairwise_subject: bool
    omit_iss: bool
    id_token_signed_response_alg: str

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> "SignInForm":
        return cls(
            protocol=form.get("protocol", "")[:20],
            redirect_uris=form.get("redirect_uris", "")[:MAX_TEXT],
            post_logout_uris=form.get("post_logout_uris", "")[:MAX_TEXT],
            public_client=form.get("client_type") == "public",
            scopes=[s[:40] for s in form.getlist("scopes")[:20]],
            refresh_tokens=form.get("refresh_tokens") == "on",
            pairwise_subject=form.get("pairwise_subject") == "on",
            omit_iss=form.get("omit_iss") == "on",
            id_token_signed_response_alg=form.get("id_token_signed_response_alg", "RS256")[:20],
        )

    def registration(self) -> Registration:
        return Registration(
            protocol=vendor_rules.check_protocol(self.protocol),
            redirect_uris=oidc_registration.uri_lines(self.redirect_uris),
            post_logout_uris=oidc_registration.uri_lines(self.post_logout_uris),
            public_client=self.public_client,
            scopes=self.scopes,
            refresh_tokens=self.refresh_tokens,
            pairwise_subject=self.pairwise_subject,
            omit_iss=self.omit_iss,
            id_token_signed_response_alg=self.id_token_signed_response_alg,
        )


@blueprint.post("/admin/vendors/<key>/sign-in-method")
@staff_required()
async def save_sign_in_method(key: str) -> ResponseReturnValue:
    values = SignInForm.read(await request.form)
    try:
        registration = values.registration()
        async with db.transaction() as s:
            vendor = await vendors.get_vendor(s, key)
            before = await oidc_registration.save(
                s,
                vendor,
                registration,
                development=settings.current().development,
                now=clock.now(),
            )
            after = oidc_registration.settings_of(
                await oidc_registration.registration_of(s, vendor)
            )
            changed = audit.changes(before, after)
            if changed:
                await record(s, "vendor.updated", vendor_key=key, changes=changed)
    except InvalidField as exc:
        return await render_vendor(
            key,
            block="protocol",
            status=422,
            oidc_values=values,
            errors={exc.field: str(exc)},
        )
    message = "Sign-in method saved." if changed else "Nothing to change."
    return await done(
        f"/admin/vendors/{key}", message, lambda: render_vendor(key, block="protocol")
    )
