"""The SAML front end's own table: a vendor's service provider (saml_service_provider), one row
per SAML vendor, keyed by the vendor. What its metadata said (the entityID, the
AssertionConsumerServices with their binding and index, the SingleLogoutServices, the signing
and encryption certificates, AuthnRequestsSigned, WantAssertionsSigned) beside what the
association chose (the NameID format, encryption and its cipher, a signed Response, the
attributes' NameFormat, sign-in from "My sites" with its RelayState). The rest of the portal
never names it (tests/test_layout.py)."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, text

from portal.models import one_of, timestamp

# What staff choose, by short name (names.py has the URIs they stand for).
NAMEID_FORMATS = ("persistent", "email", "unspecified")
CIPHERS = ("aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc")
ATTRIBUTE_NAME_FORMATS = ("uri", "basic")


def _json_list() -> Any:
    return Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )


def _false() -> Any:
    return Field(default=False, sa_column_kwargs={"server_default": text("false")})


class SamlServiceProvider(SQLModel, table=True):
    """A SAML vendor's SP. Endpoints are kept as JSON lists of {binding, location, index,
    is_default, response_location} — read and replaced whole with the metadata they came from,
    never queried by their parts; certificates as base64 DER, as ds:X509Certificate holds them."""

    __tablename__ = "saml_service_provider"
    __table_args__ = (
        CheckConstraint(one_of("nameid_format", NAMEID_FORMATS), name="nameid_format_known"),
        CheckConstraint(one_of("cipher", CIPHERS), name="cipher_known"),
        CheckConstraint(
            one_of("attribute_name_format", ATTRIBUTE_NAME_FORMATS), name="name_format_known"
        ),
        # A response goes only to a registered AssertionConsumerService: none, no sign-in.
        CheckConstraint("jsonb_array_length(assertion_consumers) > 0", name="has_consumer"),
    )

    vendor_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("vendor.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    # One SP per entityID: a request is matched to its vendor by its Issuer.
    entity_id: str = Field(max_length=1024, unique=True)
    assertion_consumers: list[dict[str, Any]] = _json_list()
    logout_services: list[dict[str, Any]] = _json_list()
    signing_certificates: list[str] = _json_list()
    encryption_certificates: list[str] = _json_list()
    authn_requests_signed: bool = _false()
    want_assertions_signed: bool = _false()
    # Persistent (a pairwise value per member and vendor) unless staff choose otherwise: it tells
    # the vendor nothing it could join with another vendor's records.
    nameid_format: str = Field(
        default="persistent", max_length=16, sa_column_kwargs={"server_default": "persistent"}
    )
    encrypt_assertions: bool = _false()
    cipher: str = Field(
        default="aes256-gcm", max_length=16, sa_column_kwargs={"server_default": "aes256-gcm"}
    )
    sign_response: bool = _false()
    attribute_name_format: str = Field(
        default="uri", max_length=8, sa_column_kwargs={"server_default": "uri"}
    )
    # Members may open the site from "My sites", the portal posting an unsolicited Response
    # (start_views.py). Off unless staff turn it on: such a response answers no request of the
    # SP's, so an SP taking it is open to login CSRF and replay (docs/saml.md).
    idp_initiated: bool = _false()
    # The RelayState posted with it (where the SP should land), or None.
    idp_initiated_relay_state: str | None = Field(default=None, max_length=1024)
    # The metadata as imported (pasted, from a file or a URL), to show staff and import again.
    metadata_xml: str | None = Field(default=None, sa_type=Text)
    # Where the metadata was read from, when it came from a URL (to read it again), else None.
    metadata_url: str | None = Field(default=None, max_length=2048)
    created_at: datetime | None = timestamp(default_now=True)
    updated_at: datetime | None = timestamp(default_now=True)


class SamlSessionNameId(SQLModel, table=True):
    """The NameID a portal session's assertion to a vendor carried (the latest, if it signed in
    there more than once), kept for single logout: the LogoutRequest names the member as the
    vendor was told, even after their email address or the vendor's NameID format changed. Goes
    with its session, and with its vendor."""

    __tablename__ = "saml_session_name_id"

    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), primary_key=True
        )
    )
    vendor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("vendor.id", ondelete="CASCADE"), primary_key=True)
    )
    name_id: str = Field(sa_type=Text)
    nameid_format: str = Field(max_length=128)  # a URI (names.py)
