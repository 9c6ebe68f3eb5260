"""The vendor page's "Send a test sign-out notice" (admins only): a logout token signed as the
real ones are, for no real session (logout_notices.TEST_SID_PREFIX), POSTed now through the
outbox's client and timeout, and the vendor's answer shown in words and audited."""

from quart import Blueprint
from quart.typing import ResponseReturnValue

from portal import clock, db, logout_notices, settings, vendors
from portal.admin.access import record, staff_required
from portal.admin.pages import done

blueprint = Blueprint("admin_sign_out_test", __name__)


def in_words(name: str, answer: logout_notices.TestAnswer) -> str:
    outcome = answer.outcome
    if outcome.delivered:
        words = f"{name} answered {outcome.status} OK: it accepted the notice."
    elif outcome.status is not None:
        words = f"{name} answered {outcome.status}: it did not accept the notice."
    else:
        words = f"{name} was not reached: {outcome.error}."
    if answer.body.strip():
        words += f" It said: “{' '.join(answer.body.split())}”"
    return words


@blueprint.post("/admin/vendors/<key>/sign-out-notices/test")
@staff_required("admin")
async def send_test_notice(key: str) -> ResponseReturnValue:
    page = f"/admin/vendors/{key}"
    policy = logout_notices.Policy.from_settings(settings.current())
    async with db.transaction() as s:
        vendor = await vendors.get_vendor(s, key)
        url = vendor.backchannel_logout_url
        if policy is None or url is None:
            return await done(page, "This portal sends no sign-out notices to this vendor.")
        token = await logout_notices.test_token(s, key, policy, now=clock.now())
    answer = await logout_notices.send_test(policy, url, token)  # no connection held
    async with db.transaction() as s:
        await record(
            s, "logout.test_sent", "success" if answer.outcome.delivered else "failure",
            vendor_key=key, status=answer.outcome.status, problem=answer.outcome.error,
        )  # fmt: skip
    return await done(page, in_words(vendor.name, answer))
