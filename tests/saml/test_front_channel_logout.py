"""The front-channel chain (SAML Profiles §4.4, portal/saml/front_channel.py) against the live
portal: two stock SPs no one here wrote (python3-saml), each with only an HTTP-Redirect
SingleLogoutService, and an Enhanced SSO vendor, reached in one portal session. When the session
ends in the member's browser, the browser (httpx, following each redirect by hand as a browser
would) is sent through each SP with the portal's signed LogoutRequest; each SP processes it with
OneLogin's own process_slo and answers with its signed LogoutResponse at /saml/slo; the portal
goes on, and the sign-out ends where it would have anyway — the signed-out page, or the
LogoutResponse to the SP that began it, the Enhanced vendor's return address, the OpenID
Connect client's post_logout_redirect_uri. An answer that is unsigned or tampered with is reported
"may still be signed in" and audited; an answer with no chain under way is a 400."""

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from sqlmodel import col, select

from portal.audit_models import AuditEvent
from portal.models import VendorDomain
from portal.saml import names
from tests.flows import Inputs, add_vendor, csrf_of, live_portal, open_sids, unit_of_work
from tests.oidc.oidc_flows import (
    POST_LOGOUT_URI,
    Pkce,
    add_oidc_vendor,
    authorize_query,
    basic,
    redirect_params,
    token_form,
)
from tests.saml import sp
from tests.saml.saml_flows import (
    add_saml_vendor,
    consumed,
    posted_fields,
    request_at,
    sign_in_through,
    sp_from_metadata_url,
)

pytestmark = pytest.mark.usefixtures("ada")
SITES = {"lms": ("sp", "Learning Hub"), "events": ("events", "Events Desk")}
EVENT = "saml.logout_through_browser"


@pytest.fixture
def portal_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_portal(database_url, tmp_path) as url:
        yield url


class StockSp:
    """One python3-saml SP, configured from the portal's metadata URL: it signs its requests and
    its LogoutResponses (`signs_answers`)."""

    def __init__(self, portal_url: str, key: str, *, signs_answers: bool = True) -> None:
        self.key = key
        self.site, self.name = SITES[key]
        self.settings = sp_from_metadata_url(
            f"{portal_url}/saml/metadata",
            self.site,
            logoutRequestSigned=True,
            logoutResponseSigned=signs_answers,
        )
        # At its SingleLogoutService it wants the portal's messages signed (not at its ACS,
        # where the portal signs the assertion).
        self.slo_settings = {
            **self.settings,
            "security": {**self.settings["security"], "wantMessagesSigned": True},
        }
        self.slo = f"https://{self.site}.example.com/saml/slo"
        self.session_index: str | None = None
        self.nameid: str | None = None
        self.logout_id: str | None = None

    async def sign_in(self, browser: httpx.AsyncClient) -> None:
        auth = OneLogin_Saml2_Auth(request_at(self.site, "/saml/acs"), self.settings)
        page = await sign_in_through(browser, auth.login())
        signed_in = consumed(
            self.settings, posted_fields(page.text)[1], auth.get_last_request_id(), self.site
        )
        assert signed_in.get_errors() == [], signed_in.get_last_error_reason()
        self.session_index, self.nameid = signed_in.get_session_index(), signed_in.get_nameid()

    def logout_url(self) -> str:
        """The SP's own sign-out: its signed LogoutRequest to the portal."""
        auth = OneLogin_Saml2_Auth(request_at(self.site, "/saml/slo"), self.settings)
        url: str = auth.logout(
            name_id=self.nameid,
            session_index=self.session_index,
            name_id_format=names.PERSISTENT,
            return_to="/after",
        )
        self.logout_id = auth.get_last_request_id()
        return url

    def at_slo(self, location: str) -> OneLogin_Saml2_Auth:
        """The SP's SingleLogoutService given the URL the browser was sent to."""
        assert location.startswith(self.slo + "?"), location
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        at_slo = request_at(self.site, "/saml/slo", get_data=query)
        return OneLogin_Saml2_Auth(at_slo, self.slo_settings)

    def answer(self, location: str) -> str:
        """The SP's process_slo, stock, on the portal's LogoutRequest: its LogoutResponse URL."""
        auth = self.at_slo(location)
        sign_out_found = parse_qs(urlsplit(location).query)["SAMLRequest"]
        assert sign_out_found
        answer: str = auth.process_slo(keep_local_session=True)
        assert auth.get_errors() == [], auth.get_last_error_reason()
        return answer


async def enhanced_sign_in(browser: httpx.AsyncClient) -> None:
    answer = await browser.get("/sso/signin", params={"vendor": "acme"})
    assert answer.status_code == 200 and "token" in Inputs(answer.text).hidden


async def follow_chain(
    browser: httpx.AsyncClient, first: httpx.Response, sps: dict[str, StockSp], **answers: Any
) -> tuple[httpx.Response, list[str]]:
    """Follow the portal's redirects as a browser does; at each SP, let it answer (or
    `answers[key](location)` instead). Returns the last answer off the SPs' path and the order
    the SPs were visited in."""
    visited: list[str] = []
    answer = first
    for _ in range(12):
        if answer.status_code not in (302, 303):
            return answer, visited
        location = answer.headers["Location"]
        at = next((sp for sp in sps.values() if location.startswith(sp.slo + "?")), None)
        if at is None:
            if not location.startswith(("/", str(browser.base_url))):
                return answer, visited  # somewhere else: where the sign-out ends
            answer = await browser.get(location)
            continue
        if "SAMLResponse=" in location:  # the LogoutResponse to the SP that began it
            return answer, visited
        visited.append(at.key)
        answer_url = answers.get(at.key, at.answer)(location)
        answer = await browser.get(answer_url)
    raise AssertionError("the chain did not end")


async def signed_in_at_both(
    portal_url: str, database_url: str, **options: Any
) -> dict[str, StockSp]:
    for key, (site, name) in SITES.items():
        await add_saml_vendor(database_url, key, site=site, name=name)
    await add_vendor(database_url, "acme")
    return {key: StockSp(portal_url, key, **options.get(key, {})) for key in SITES}


async def browser_events(database_url: str) -> list[tuple[str | None, str, Any]]:
    query = select(AuditEvent).where(AuditEvent.event == EVENT).order_by(col(AuditEvent.id))
    async with unit_of_work(database_url) as session:
        rows = (await session.exec(query)).all()
    return [(row.vendor_key, row.outcome, row.details.get("reason")) for row in rows]


def sites(page: str, testid: str) -> str:
    start = page.find(f'data-testid="{testid}"')
    return "" if start < 0 else page[start : page.index("</p>", start)]


async def test_a_sign_out_at_the_portal_goes_through_each_sp(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        await enhanced_sign_in(browser)
        home = await browser.get("/")
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303 and out.headers["Location"] == "/saml/slo/continue"
        end, visited = await follow_chain(browser, out, sps)
    assert visited == ["events", "lms"]  # by name: Events Desk, Learning Hub
    assert end.status_code == 200 and str(end.url).endswith("/signed-out")
    assert "Events Desk, Learning Hub" in sites(end.text, "sites-browser")
    assert "Acme Learning" in sites(end.text, "sites-not-told")  # no back channel: truthfully
    assert "Learning Hub" not in sites(end.text, "sites-not-told")
    assert await open_sids(database_url) == []
    assert await browser_events(database_url) == [
        ("events", "success", None),
        ("lms", "success", None),
    ]


async def test_the_chain_runs_when_one_sp_began_the_sign_out(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        lms = sps["lms"]
        begun = await browser.get(lms.logout_url())
        assert begun.headers["Location"] == "/saml/slo/continue"
        end, visited = await follow_chain(browser, begun, sps)
    assert visited == ["events"]  # the SP that began it is not sent a request of its own
    location = end.headers["Location"]
    assert location.startswith(lms.slo + "?SAMLResponse=")
    answered = lms.at_slo(location)
    answered.process_slo(keep_local_session=True, request_id=lms.logout_id)
    assert answered.get_errors() == [], answered.get_last_error_reason()
    assert parse_qs(urlsplit(location).query)["RelayState"] == ["/after"]
    assert await open_sids(database_url) == []
    assert await browser_events(database_url) == [("events", "success", None)]


def tampered(location: str, sp: StockSp) -> str:
    """The SP's answer with its signature changed on the way."""
    answer = sp.answer(location)
    head, _, signature = answer.partition("&Signature=")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    return f"{head}&Signature={flipped}"


async def test_an_unsigned_or_tampered_answer_is_reported_may_still_be_signed_in(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url, events={"signs_answers": False})
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        home = await browser.get("/")
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
        end, visited = await follow_chain(
            browser, out, sps, lms=lambda location: tampered(location, sps["lms"])
        )
    assert visited == ["events", "lms"]
    assert end.status_code == 200
    assert "Events Desk, Learning Hub" in sites(end.text, "sites-not-told")
    assert sites(end.text, "sites-browser") == ""
    assert await browser_events(database_url) == [
        ("events", "failure", "unsigned"),
        ("lms", "failure", "bad_signature"),
    ]


async def test_an_answer_with_no_chain_under_way_is_a_400(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await sps["lms"].sign_in(browser)
        # A LogoutResponse of the SP's own, though the portal sent it no request.
        answer_url = OneLogin_Saml2_Auth(request_at("sp", "/saml/slo"), sps["lms"].settings).logout(
            name_id="x", session_index="y"
        )
        strange = answer_url.replace("SAMLRequest=", "SAMLResponse=")
        answer = await browser.get(strange)
        assert answer.status_code == 400
        assert "no sign-out in this browser is waiting" in answer.text
        assert (await browser.get("/saml/slo/continue")).status_code == 400
    assert len(await open_sids(database_url)) == 1  # nothing changed


def answer_with(sp: StockSp, location: str, *, status: str, answering: str | None) -> str:
    """The SP's LogoutResponse built by python3-saml as process_slo builds it, with another
    status, or answering another request (`answering`)."""
    auth = sp.at_slo(location)
    query = parse_qs(urlsplit(location).query)
    request_xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"][0])
    builder = OneLogin_Saml2_Logout_Response(auth.get_settings())
    builder.build(answering or OneLogin_Saml2_Logout_Request.get_id(request_xml), status=status)
    parameters = {"SAMLResponse": builder.get_response()}
    auth.add_response_signature(parameters, names.RSA_SHA256)
    url: str = auth.redirect_to(auth.get_slo_response_url(), parameters)
    return url


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"status": names.RESPONDER, "answering": None}, "not_signed_out"),
        ({"status": names.SUCCESS, "answering": "_another-request"}, "in_response_to"),
        (None, "not_base64"),
    ],
)
async def test_an_answer_that_does_not_confirm_is_reported_and_the_chain_goes_on(
    portal_url: str, database_url: str, answers: dict[str, Any] | None, reason: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    lms = sps["lms"]

    def lms_answers(location: str) -> str:
        if answers is None:  # not a SAML message at all
            return f"{portal_url}/saml/slo?SAMLResponse=%25%25not-base64"
        return answer_with(lms, location, **answers)

    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        begun = await browser.get(sps["events"].logout_url())
        end, visited = await follow_chain(browser, begun, sps, lms=lms_answers)
    assert visited == ["lms"]
    location = end.headers["Location"]  # the LogoutResponse to the SP that began it
    answered = sps["events"].at_slo(location)
    answered.process_slo(keep_local_session=True, request_id=sps["events"].logout_id)
    assert answered.get_errors() == [], answered.get_last_error_reason()
    response = OneLogin_Saml2_Utils.decode_base64_and_inflate(
        parse_qs(urlsplit(location).query)["SAMLResponse"][0]
    )
    assert names.PARTIAL_LOGOUT.encode() in response  # one site did not confirm
    assert await browser_events(database_url) == [("lms", "failure", reason)]


async def test_an_enhanced_vendors_sign_out_ends_at_its_return_address_after_the_chain(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        await enhanced_sign_in(browser)
        back = "https://acme-learning.com/bye"
        out = await browser.get("/sso/signout", params={"vendor": "acme", "ReturnURL": back})
        assert out.headers["Location"] == "/saml/slo/continue"
        end, visited = await follow_chain(browser, out, sps)
    assert visited == ["events", "lms"]
    assert end.status_code == 303 and end.headers["Location"] == back
    assert [outcome for _, outcome, _ in await browser_events(database_url)] == ["success"] * 2


async def test_an_sp_with_only_a_post_sign_out_address_is_told_by_post(
    portal_url: str, database_url: str
) -> None:
    """HTTP-POST both ways: the portal's page posts its LogoutRequest signed in the XML (checked
    with python3-saml's own XML signature check against the portal's metadata certificate); the
    SP posts back its LogoutResponse, built and signed in the XML by python3-saml."""
    post_only = f'<md:SingleLogoutService Binding="{names.POST}" Location="{sp.SLO}"/>'
    await add_saml_vendor(database_url, metadata=sp.metadata(logout_services=post_only))
    lms = StockSp(portal_url, "lms")
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        await lms.sign_in(browser)
        home = await browser.get("/")
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
        page = await browser.get(out.headers["Location"])
        assert "Signing you out of Learning Hub" in page.text
        action, fields = posted_fields(page.text)
        assert action == sp.SLO and set(fields) == {"SAMLRequest"}
        request_xml = base64.b64decode(fields["SAMLRequest"])
        idp = lms.settings["idp"]
        certs = idp.get("x509certMulti", {}).get("signing") or [idp["x509cert"]]
        stock = OneLogin_Saml2_Logout_Request(
            OneLogin_Saml2_Settings(lms.settings), fields["SAMLRequest"]
        )
        assert stock.is_valid(request_at("sp", "/saml/slo"), raise_exceptions=True)
        assert OneLogin_Saml2_Utils.validate_sign(
            request_xml,
            multicerts=certs,
            xpath="/samlp:LogoutRequest/ds:Signature",
            raise_exceptions=True,
        )
        assert OneLogin_Saml2_Logout_Request.get_session_indexes(request_xml) == [lms.session_index]
        builder = OneLogin_Saml2_Logout_Response(OneLogin_Saml2_Settings(lms.settings))
        builder.build(OneLogin_Saml2_Logout_Request.get_id(request_xml))
        own = lms.settings["sp"]
        signed = OneLogin_Saml2_Utils.add_sign(
            builder.get_xml(), own["privateKey"], own["x509cert"]
        )
        back = await browser.post(
            "/saml/slo", data={"SAMLResponse": base64.b64encode(signed).decode()}
        )
        assert back.status_code == 303  # on as a GET, which carries the session cookie
        end, _ = await follow_chain(browser, back, {})
    assert str(end.url).endswith("/signed-out")
    assert "Learning Hub" in sites(end.text, "sites-browser")
    assert await browser_events(database_url) == [("lms", "success", None)]


async def test_an_openid_connect_end_session_ends_at_its_post_logout_address_after_the_chain(
    portal_url: str, database_url: str
) -> None:
    sps = await signed_in_at_both(portal_url, database_url)
    learn = await add_oidc_vendor(database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        pkce = Pkce.new()
        authorized = await browser.get("/oidc/authorize", params=authorize_query(pkce))
        code = redirect_params(authorized.headers["Location"])["code"]
        issued = await browser.post(
            "/oidc/token", data=token_form(code, pkce), headers=basic(learn)
        )
        hint = issued.json()["id_token"]
        query = {"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s"}
        out = await browser.get("/oidc/logout", params=query)
        assert out.headers["Location"] == "/saml/slo/continue"
        end, visited = await follow_chain(browser, out, sps)
    assert visited == ["events", "lms"]
    assert end.status_code == 303 and end.headers["Location"] == f"{POST_LOGOUT_URI}?state=s"
    assert await open_sids(database_url) == []


async def test_the_browser_is_not_sent_to_an_address_off_the_vendors_domains(
    portal_url: str, database_url: str
) -> None:
    """Metadata saved before the domain rule, or a domain changed by hand since: the chain
    passes that SP by, and says the member may still be signed in there."""
    sps = await signed_in_at_both(portal_url, database_url)
    async with httpx.AsyncClient(base_url=portal_url, timeout=30) as browser:
        for found in sps.values():
            await found.sign_in(browser)
        async with unit_of_work(database_url) as session:
            domain = (
                await session.exec(
                    select(VendorDomain).where(col(VendorDomain.domain) == "events.example.com")
                )
            ).one()
            domain.domain = "events-desk.example.org"
            session.add(domain)
        home = await browser.get("/")
        out = await browser.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
        end, visited = await follow_chain(browser, out, sps)
    assert visited == ["lms"]
    assert "Events Desk" in sites(end.text, "sites-not-told") + sites(end.text, "sites-failed")
    assert await browser_events(database_url) == [
        ("events", "failure", "outside_domains"),
        ("lms", "success", None),
    ]
