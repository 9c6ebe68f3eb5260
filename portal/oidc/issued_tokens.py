"""What a code or refresh token gives once used, on either path of the token endpoint
(token_views.py): an access token, a refresh token for offline access (or for a refresh of a
grant from before offline access existed), their lifetimes, and the ID token, signed with this
process's copy of the key."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import claims, db, key_cache, pairwise, settings, signing_keys
from portal.crypto import new_secret
from portal.oidc import answers, id_tokens


@dataclass(frozen=True)
class Issue:
    """The tokens to issue, raw (only their hashes are stored)."""

    scope: str  # the access token's
    access_token: str
    access_until: datetime
    refresh_token: str | None
    refresh_until: datetime | None


def offline_access(grant_offline: bool, scope: str, renewing: bool) -> bool:
    """A grant is offline access once its code is redeemed with offline_access in its scope."""
    return grant_offline or (not renewing and claims.OFFLINE_ACCESS in scope.split())


def refresh_until(
    offline: bool, session_ends: datetime | None, now: datetime, renewing: bool
) -> datetime | None:
    """Offline access: a refresh token lasting its own lifetime, renewed at each use. A refresh
    token from before offline access existed (its grant is not offline) keeps its rule: no
    longer than its portal session (which ends at `session_ends`)."""
    if offline:
        return now + timedelta(days=settings.current().oidc_offline_days)
    return session_ends if renewing else None


def new_tokens(scope: str, now: datetime, refresh_until: datetime | None) -> Issue:
    """An access token for `scope` and, with `refresh_until`, a refresh token (RFC 6749 §6: it
    carries the grant's whole scope)."""
    ttl = timedelta(seconds=settings.current().oidc_access_token_ttl_seconds)
    refresh = new_secret() if refresh_until else None
    return Issue(scope, new_secret(), now + ttl, refresh, refresh_until)


@dataclass(frozen=True)
class Keys:
    signer: signing_keys.Signer
    pairwise_key: bytes  # b"" for a vendor without pairwise subjects


def cached_keys(vendor: id_tokens.Audience, now: datetime) -> Keys | None:
    """The signing key and the pairwise key from this process's copies (portal/key_cache.py,
    portal/pairwise.py): no round trip, no transaction; None when one must be loaded first
    (keys())."""
    current, engine = settings.current(), db.engine()
    alg = vendor.id_token_signed_response_alg
    signer = signing_keys.cached_signer(
        key_cache.for_engine(engine), now=now, settings=current, alg=alg
    )
    pairwise_key = pairwise.cached_key(
        key_cache.engine_name(engine), vendor.pairwise_subject, settings=current
    )
    return Keys(signer, pairwise_key) if signer is not None and pairwise_key is not None else None


async def keys(db_session: AsyncSession, vendor: id_tokens.Audience, now: datetime) -> Keys:
    """The signing key and the pairwise key, each opened once per process (portal/key_cache.py,
    portal/pairwise.py): `db_session` is used — its transaction takes a connection — only when
    this process's copy must be loaded (a key changed, or the process is new)."""
    current = settings.current()
    alg = vendor.id_token_signed_response_alg
    signer = await signing_keys.signer(db_session, now=now, settings=current, alg=alg)
    pairwise_key = await pairwise.key_for(db_session, vendor.pairwise_subject, settings=current)
    return Keys(signer, pairwise_key)


@dataclass(frozen=True)
class Named:
    """What the ID token names of the grant whose code or token was used."""

    imis_id: str
    sid: str  # the portal session's
    auth_time: datetime | None
    nonce: str | None


async def answer(
    keys: Keys, vendor: id_tokens.Audience, named: Named, issue: Issue, now: datetime
) -> dict[str, Any]:
    """The token endpoint's answer, with its ID token signed (in a thread: signing_keys.py)."""
    id_token = await keys.signer.sign(
        id_tokens.claims(
            issuer=answers.issuer(), vendor=vendor, imis_id=named.imis_id, sid=named.sid,
            auth_time=named.auth_time, nonce=named.nonce, access_token=issue.access_token,
            pairwise_key=keys.pairwise_key, now=now,
        )
    )  # fmt: skip
    body: dict[str, Any] = {
        "access_token": issue.access_token,
        "token_type": "Bearer",
        "expires_in": settings.current().oidc_access_token_ttl_seconds,
        "id_token": id_token,
        "scope": issue.scope,
    }
    if issue.refresh_token:
        body["refresh_token"] = issue.refresh_token
    return body
