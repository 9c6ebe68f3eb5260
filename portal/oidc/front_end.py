"""The OpenID Connect front end's registration (portal/front_ends.py): what the core, the domain
and the dashboard reach of it without importing it — its vendor settings included
(registration.py's rules, settings_forms.py's fields and options) and what the vendor page
shows of its vendors (integration.py)."""

from portal.front_ends import FrontEnd, SettingsForm, SettingsOptions, VendorPage, VendorSettings
from portal.oidc import grant_revocation, integration, member_data, registration, settings_forms

FRONT_END = FrontEnd(
    name="oidc",
    label="OpenID Connect",
    entry_paths=frozenset({"/oidc/authorize"}),
    issued_event="oidc.authorized",
    session_ended=grant_revocation.session_ended,
    member_signed_out=grant_revocation.member_signed_out,
    vendor_changed=grant_revocation.vendor_changed,
    lasting_access=grant_revocation.offline_sites,
    member_data=member_data.grants_of,
    purge_rules=grant_revocation.purge_rules,
    kept_sessions=grant_revocation.offline_sessions,
    hint="The standard that learning, job board and community platforms support out of the "
    "box: the site's developers need only the Integration tab.",
    vendor_settings=VendorSettings(
        names=registration.NAMES,
        read=registration.read_values,
        check=registration.check_values,
        write=registration.write_values,
        audited=registration.audited,
        needs=registration.needs,
        secretless=True,
        # OpenID Connect Back-Channel Logout's client metadata.
        details=("backchannel_logout_session_required",),
    ),
    settings_form=SettingsForm(
        template="admin/vendors/oidc_settings.html",
        shows={"scopes": registration.SCOPES},
        read=settings_forms.read_form,
        new_template="admin/vendors/oidc_new.html",
        read_new=settings_forms.read_new,
        listed_first=True,  # the standard, offered first
    ),
    settings_options=SettingsOptions(
        add=settings_forms.add_options,
        options=settings_forms.OPTIONS,
        read=settings_forms.read_options,
        added=settings_forms.added,
    ),
    vendor_page=VendorPage(
        integration="admin/vendors/_oidc_integration.html",
        integration_context=integration.context,
        preview=integration.claims,
        preview_id="preview-claims",
        preview_label="OpenID Connect: UserInfo claims",
        preview_note="The claims are those of every scope the site may ask for (How members sign "
        "in); a sign-in that asks for fewer gets fewer.",
    ),
)
