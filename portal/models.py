"""The domain's tables, and the helpers every package's models.py declares its own tables with
(the core's are in portal/auth/models.py, the audit log's in portal/audit_models.py, each front
end's and the outbox's in its own package). Rules the database can hold itself are constraints
here, not code elsewhere."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from portal import search_text
from portal.catalogue import CATALOGUE, OUTPUT_NAME_PATTERN

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

VENDOR_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
ROLES = ("admin", "viewer")
SOURCES = ("local", "imis")
# The front ends' names (portal/front_ends.py), as the database checks vendor.protocol and
# session_vendor.front_end: a new front end adds its name with its migration
# (tests/test_front_ends.py holds the two equal).
PROTOCOLS = ("enhanced", "oidc", "saml")
REDIRECT_KINDS = ("login", "post_logout")
SIGNING_ALGORITHMS = ("RS256", "ES256")
LINK_PURPOSES = ("reset", "invitation", "staff_password")
# How a vendor appears on members' "My sites": listed, a greyed "coming soon" tile, or not at all.
MY_SITES = ("shown", "coming-soon", "hidden")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def timestamp(*, nullable: bool = False, default_now: bool = False, index: bool = False) -> Any:
    server_default = func.now() if default_now else None
    return Field(
        default=None,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": server_default},
        nullable=nullable,
        index=index,
    )


def reference(target: str, *, nullable: bool = False, cascade: bool = True) -> Any:
    on_delete = "CASCADE" if cascade else "RESTRICT"
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(f"{target}.id", ondelete=on_delete), nullable=nullable
        ),
    )


def id_of(row: SQLModel) -> int:
    """The primary key of a row that has been flushed."""
    value = getattr(row, "id", None)
    if not isinstance(value, int):
        raise RuntimeError(f"{type(row).__name__} has no id yet; flush it first")
    return value


class Member(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="username_lower"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(one_of("source", SOURCES), name="source_known"),
        # Members from iMIS authenticate against iMIS; a local password would be a back door.
        CheckConstraint("source = 'local' OR password_hash IS NULL", name="imis_no_password"),
        # Members sign in with their username or their email: a local username that looked like
        # an email could take over another member's email sign-in.
        CheckConstraint("source <> 'local' OR strpos(username, '@') = 0", name="username_no_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    imis_id: str = Field(max_length=64, unique=True)
    username: str = Field(max_length=254, unique=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    full_name: str | None = Field(default=None, max_length=400)
    informal_name: str | None = Field(default=None, max_length=200)
    prefix: str | None = Field(default=None, max_length=50)
    suffix: str | None = Field(default=None, max_length=50)
    designation: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=100)
    address1: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=200)
    state: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=100)
    member_type: str | None = Field(default=None, max_length=64)
    member_status: str = Field(default="A", max_length=32)
    join_date: date | None = None
    paid_through: date | None = None
    password_hash: str | None = Field(default=None, max_length=400)
    source: str = Field(default="local", max_length=16)
    enabled: bool = True
    invited_at: datetime | None = timestamp(nullable=True)  # the last invitation email
    invitation_accepted_at: datetime | None = timestamp(nullable=True)
    refreshed_at: datetime | None = timestamp(nullable=True)
    created_at: datetime | None = timestamp(default_now=True)
    updated_at: datetime | None = timestamp(default_now=True)
    # The searched fields folded (portal/search_text.py), kept by every write below; the member
    # list searches this one column.
    search_text: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})


@event.listens_for(Member, "before_insert")
@event.listens_for(Member, "before_update")
def _keep_search_text(_mapper: Mapper[Member], _connection: Connection, member: Member) -> None:
    """Every write of a member (added, edited, imported, refreshed from iMIS) goes through the
    ORM, so this is the one place the folded copy is kept."""
    member.search_text = search_text.of(member)


class Vendor(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(f"key ~ '{VENDOR_KEY_PATTERN}'", name="key_slug"),
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(one_of("protocol", PROTOCOLS), name="protocol_known"),
        # The token-post page posts to the token URL: an Enhanced vendor cannot do without one.
        CheckConstraint("protocol <> 'enhanced' OR token_url IS NOT NULL", name="token_url_set"),
        CheckConstraint(
            one_of("id_token_signed_response_alg", SIGNING_ALGORITHMS), name="id_token_alg_known"
        ),
        CheckConstraint(one_of("my_sites", MY_SITES), name="my_sites_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=63, unique=True)
    name: str = Field(max_length=200)
    protocol: str = Field(
        default="enhanced", max_length=16, sa_column_kwargs={"server_default": "enhanced"}
    )
    token_url: str | None = Field(default=None, max_length=2048)
    signout_url: str | None = Field(default=None, max_length=2048)
    start_url: str | None = Field(default=None, max_length=2048)
    # Single logout (docs/single-logout.md): where the portal POSTs a logout token when a portal
    # session that reached this vendor ends, and the page the signed-out page frames instead.
    backchannel_logout_url: str | None = Field(default=None, max_length=2048)
    backchannel_logout_session_required: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    frontchannel_logout_url: str | None = Field(default=None, max_length=2048)
    enabled: bool = True
    # The list only: a hidden or coming-soon vendor still signs in members its own site sends.
    my_sites: str = Field(
        default="shown", max_length=16, sa_column_kwargs={"server_default": "shown"}
    )
    # Who may use the site (portal/access_rules.py): each part that is set must hold; none set
    # is everyone who signs in.
    access_good_standing: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    access_member_types: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    access_statuses: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    # OpenID Connect: a public client (an app in the browser) has no secret and relies on PKCE.
    public_client: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    refresh_tokens: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    scopes: str = Field(
        default="openid profile email",
        max_length=200,
        sa_column_kwargs={"server_default": "openid profile email"},
    )
    pairwise_subject: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    # Leave RFC 9207's `iss` out of authorization answers: some older sign-in modules (Apache's
    # mod_auth_openidc 2.4) read it as a sign-in started elsewhere (docs/oidc.md).
    omit_iss: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # The client metadata of OpenID Connect Registration 1.0: how its ID tokens are signed.
    id_token_signed_response_alg: str = Field(
        default="RS256", max_length=8, sa_column_kwargs={"server_default": "RS256"}
    )
    created_at: datetime | None = timestamp(default_now=True)
    updated_at: datetime | None = timestamp(default_now=True)


class VendorDomain(SQLModel, table=True):
    __tablename__ = "vendor_domain"
    __table_args__ = (
        UniqueConstraint("vendor_id", "domain"),
        CheckConstraint("domain = lower(domain)", name="domain_lower"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = reference("vendor")
    domain: str = Field(max_length=253)
    created_at: datetime | None = timestamp(default_now=True)


class VendorRedirectUri(SQLModel, table=True):
    """An OpenID Connect client's registered redirect URIs, matched exactly (RFC 9700)."""

    __tablename__ = "vendor_redirect_uri"
    __table_args__ = (
        UniqueConstraint("vendor_id", "kind", "uri"),
        CheckConstraint(one_of("kind", REDIRECT_KINDS), name="kind_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = reference("vendor")
    kind: str = Field(max_length=16)
    uri: str = Field(max_length=2048)


class SigningKey(SQLModel, table=True):
    """The portal's JOSE signing keys (ID tokens, logout tokens), published at the JWKS URI."""

    __tablename__ = "signing_key"
    __table_args__ = (
        CheckConstraint(one_of("alg", SIGNING_ALGORITHMS), name="alg_known"),
        # One newest key per algorithm (the one no rotation has replaced yet), so processes
        # making the first key at once agree on it.
        Index(
            "uq_signing_key_newest_alg",
            "alg",
            unique=True,
            postgresql_where=text("retires_at IS NULL"),
        ),
        # A withdrawn key is unpublished from the moment it was withdrawn.
        CheckConstraint(
            "withdrawn_at IS NULL OR (retires_at IS NOT NULL AND retires_at <= withdrawn_at)",
            name="withdrawn_unpublished",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    alg: str = Field(max_length=8)
    # The private JWK, encrypted with a key derived from PORTAL_SECRET_KEY (portal/sealing.py).
    sealed_jwk: str = Field(sa_type=Text)
    # The public JWK, so the key set is served without opening a private key. Keys made before
    # it existed get theirs the first time they are loaded (portal/signing_keys.py).
    public_jwk: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime | None = timestamp(default_now=True)
    signs_from: datetime | None = timestamp()  # published before, so caches hold it by then
    retires_at: datetime | None = timestamp(nullable=True)  # unpublished from then on
    # Set by `portal keys rotate --now` and `portal keys revoke`: unpublished at once, never
    # signing again (retires_at is set to the same moment).
    withdrawn_at: datetime | None = timestamp(nullable=True)


class StoredSecret(SQLModel, table=True):
    """A secret the portal made (or was first given) and keeps for good, sealed like the
    signing keys: the key of pairwise subjects (portal/pairwise.py)."""

    __tablename__ = "stored_secret"

    name: str = Field(max_length=32, primary_key=True)
    sealed: str = Field(sa_type=Text)
    created_at: datetime | None = timestamp(default_now=True)


class VendorSecret(SQLModel, table=True):
    __tablename__ = "vendor_secret"
    __table_args__ = (
        CheckConstraint("slot IN (1, 2)", name="two_slots"),
        # Two slots and one active secret per slot: at most two active, held by the database.
        Index(
            "uq_vendor_secret_active_slot",
            "vendor_id",
            "slot",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = reference("vendor")
    slot: int = Field(sa_type=SmallInteger)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: datetime | None = timestamp(default_now=True)
    last_used_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)


class VendorField(SQLModel, table=True):
    __tablename__ = "vendor_field"
    __table_args__ = (
        UniqueConstraint("vendor_id", "field"),
        UniqueConstraint("vendor_id", "position"),
        CheckConstraint(one_of("field", CATALOGUE), name="field_in_catalogue"),
        CheckConstraint("position >= 0", name="position_positive"),
        CheckConstraint(f"output_name ~ '{OUTPUT_NAME_PATTERN}'", name="output_name_shape"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = reference("vendor")
    field: str = Field(max_length=32)
    position: int
    output_name: str | None = Field(default=None, max_length=64)


class Staff(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(one_of("role", ROLES), name="role_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=400)
    role: str = Field(max_length=16)
    enabled: bool = True
    last_sign_in_at: datetime | None = timestamp(nullable=True)
    created_at: datetime | None = timestamp(default_now=True)
    updated_at: datetime | None = timestamp(default_now=True)
    # Two-factor sign-in (portal/auth/mfa.py). A secret without `totp_confirmed_at` is an
    # enrolment not yet confirmed with a code, and is not asked for at sign-in.
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_confirmed_at: datetime | None = timestamp(nullable=True)
    # The time step of the last code accepted: only a later step is accepted (no code twice).
    totp_last_step: int | None = Field(default=None, sa_type=BigInteger)


class SessionVendor(SQLModel, table=True):
    """A vendor a portal session reached, and through which front end (Keycloak's "client
    sessions"): written by the front end in the statement or transaction that issues to the
    vendor, read by the live sessions staff see, single logout and the overview. Goes with its
    session (retention), and with its vendor."""

    __tablename__ = "session_vendor"
    __table_args__ = (
        UniqueConstraint("session_id", "vendor_id", "front_end"),
        CheckConstraint(one_of("front_end", PROTOCOLS), name="front_end_known"),
        CheckConstraint("last_at >= first_at", name="last_after_first"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), nullable=False)
    )
    vendor_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("vendor.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    front_end: str = Field(max_length=16)
    first_at: datetime | None = timestamp()
    last_at: datetime | None = timestamp()


class RateCounter(SQLModel, table=True):
    __tablename__ = "rate_counter"

    bucket: str = Field(max_length=200, primary_key=True)
    window_start: datetime = Field(sa_type=DateTime(timezone=True), primary_key=True)
    hits: int = 0


class AccountLink(SQLModel, table=True):
    """A single-use link that sets a password (portal/auth/reset_links.py): a member's reset or
    invitation, or a staff member's set-password link."""

    __tablename__ = "account_link"
    __table_args__ = (
        CheckConstraint("(member_id IS NULL) <> (staff_id IS NULL)", name="one_subject"),
        CheckConstraint(one_of("purpose", LINK_PURPOSES), name="purpose_known"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        # One live link per account, held by the database: a newer link voids the older one.
        Index(
            "uq_account_link_live_member",
            "member_id",
            unique=True,
            postgresql_where=text("used_at IS NULL AND voided_at IS NULL"),
        ),
        Index(
            "uq_account_link_live_staff",
            "staff_id",
            unique=True,
            postgresql_where=text("used_at IS NULL AND voided_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Only a hash: a link read from the database opens nothing.
    token_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=16)
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"))
    )
    staff_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"))
    )
    # SHA-256 of the password hash when the link was made: a password change voids the link.
    password_digest: str = Field(max_length=64)
    continuation: str | None = Field(default=None, max_length=8192)
    created_at: datetime | None = timestamp()
    expires_at: datetime | None = timestamp()
    used_at: datetime | None = timestamp(nullable=True)
    voided_at: datetime | None = timestamp(nullable=True)
