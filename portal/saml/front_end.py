"""The SAML 2.0 front end's registration (portal/front_ends.py): what the core, the domain and
the dashboard reach of it without importing it — its vendor settings included (registration.py's
rules, settings_forms.py's fields and options) and what the vendor page shows of its vendors
(integration.py). A sign-in on the portal's own pages continues at /saml/sso (sso_views.py),
where the request is checked again, or at /saml/start (start_views.py, from "My sites")."""

from portal.front_ends import (
    BrowserSignOut,
    FrontEnd,
    SettingsForm,
    SettingsOptions,
    VendorPage,
    VendorSettings,
)
from portal.saml import (
    addresses,
    certificate_expiry,
    front_channel,
    integration,
    models,  # noqa: F401 - its table, for Alembic and the drift test
    registration,
    settings_forms,
    soap_logout,
    start_views,
)
from portal.saml.metadata import SSO_PATH, START_PATH

FRONT_END = FrontEnd(
    name="saml",
    label="SAML 2.0",
    entry_paths=frozenset({SSO_PATH, START_PATH}),
    issued_event="saml.signed_in",
    # A session's end, told to the SPs that take a SOAP LogoutRequest (soap_logout.py).
    session_ended=soap_logout.session_ended,
    logout_kind=soap_logout.kind,
    # The SPs with only a Redirect or POST SingleLogoutService: through the member's browser.
    browser_sign_out=BrowserSignOut(front_channel.CONTINUE_PATH, front_channel.vendors_to_visit),
    # Vendors whose staff turned on signing in from "My sites" (start_views.py).
    my_sites_posts=start_views.my_sites_posts,
    hint="For sites that take single sign-on only as SAML 2.0 (many learning, event and "
    "enterprise systems): paste the metadata its developers give you.",
    vendor_settings=VendorSettings(
        names=registration.NAMES,
        read=registration.read_values,
        check=registration.check_values,
        write=registration.write_values,
        audited=registration.audited,
        needs=registration.needs,
        # Its SP signs with the keys of its metadata: an API secret would never be used.
        api_secrets=False,
        addresses=addresses.of_vendor,
    ),
    settings_form=SettingsForm(
        template="admin/vendors/saml_settings.html",
        shows={"nameid": registration.NAMEID_WORDS, "ciphers": registration.CIPHER_WORDS},
        read=settings_forms.read_form,
        new_template="admin/vendors/saml_new.html",
        read_new=settings_forms.read_new,
    ),
    settings_options=SettingsOptions(
        add=settings_forms.add_options,
        options=settings_forms.OPTIONS,
        read=settings_forms.read_options,
        added=settings_forms.added,
    ),
    vendor_page=VendorPage(
        integration="admin/vendors/_saml_integration.html",
        integration_context=integration.context,
        preview=integration.preview,
        preview_id="preview-saml-attributes",
        preview_label="SAML 2.0: the assertion's attributes",
        preview_note="Each field as an attribute: standard names where there are some (urn:oid, "
        "as the site receives them with NameFormat uri), the field's name otherwise; with "
        "IsMember, eduPersonAffiliation too (member or affiliate).",
        sign_out_words=integration.sign_out_words,
        integration_details=certificate_expiry.integration_details,
        attention=certificate_expiry.attention,
    ),
)
