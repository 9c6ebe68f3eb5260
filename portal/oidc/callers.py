"""Who calls the token and revocation endpoints, and what it costs them (the budgets of
portal/api_budgets.py, as at the Enhanced user service).

A vendor that proves its secret spends its own budget at once. A public client proves nothing
but a client_id anyone can copy, so its vendor's budget is spent only once its code or token
has validated — in the statement or transaction that uses them, so that either both happen or
neither — and its failures spend the caller's network's budget: junk sent in a public client's
name cannot make the real sign-ins fail."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, Protocol

from quart import request
from sqlmodel.ext.asyncio.session import AsyncSession

from portal import api_budgets, audit, db, rate_limits, reasons, settings
from portal.oidc import clients
from portal.oidc.protocol_errors import OAuthError, too_many

FAILURES = "oidc-auth-failure"  # the network budget of failed client logins and public failures
REVOKING = frozenset({"oidc.code_replay", "oidc.refresh_reuse"})  # refusals that revoke


class Called(Protocol):
    """What the token and revocation endpoints read of the vendor that called (a Vendor, or the
    token endpoint's record, oidc/token_exchange.py): its scopes.Offer and id_tokens.Audience."""

    @property
    def id(self) -> int | None: ...
    @property
    def key(self) -> str: ...
    @property
    def scopes(self) -> str: ...
    @property
    def refresh_tokens(self) -> bool: ...
    @property
    def pairwise_subject(self) -> bool: ...
    @property
    def id_token_signed_response_alg(self) -> str: ...


@dataclass(frozen=True)
class Caller:
    vendor: Called
    method: str  # client_secret_basic, client_secret_post, none

    @property
    def public(self) -> bool:
        return self.method == "none"

    @property
    def vendor_id(self) -> int:
        if self.vendor.id is None:
            raise RuntimeError("the vendor that called has no id")
        return self.vendor.id


class OverBudget(Exception):
    """A public client's call validated over its vendor's budget: the transaction that used its
    code or token rolls back (the code stays good), and over_budget() answers."""


async def form() -> dict[str, str]:
    """The posted form; a parameter given twice is refused (RFC 6749 §3.2)."""
    posted = await request.form
    repeated = [name for name, values in posted.lists() if len(values) > 1]
    if repeated:
        raise OAuthError(400, "invalid_request", f"{repeated[0]} is given more than once.")
    return {name: value for name, value in posted.items()}


def required(posted: dict[str, str], name: str) -> str:
    value = posted.get(name, "")
    if not value:
        raise OAuthError(400, "invalid_request", f"The {name} parameter is missing.")
    return value


async def authenticated(posted: dict[str, str], now: datetime) -> Caller:
    """The vendor that called. A refusal is answered once its count and audit event are
    committed."""
    given = clients.presented(request.headers.get("Authorization"), posted)
    async with db.transaction() as db_session:
        try:
            found = await clients.authenticate(db_session, given, now=now)
            if isinstance(found, clients.Refusal):
                await refuse_client(db_session, found, given, now)
            caller = Caller(found, given.method)
            if not caller.public:  # its secret proves the call is the vendor's
                await charge(db_session, vendor_budget(caller), now)
            return caller
        except OAuthError as error:
            refusal = error
    raise refusal


async def refuse_client(
    db_session: AsyncSession, refusal: clients.Refusal, given: clients.Presented, now: datetime
) -> NoReturn:
    await charge(db_session, network_budget(), now)
    await audit.record_anonymous(
        db_session, "oidc.client_auth", now=now,
        vendor_key=refusal.vendor.key if refusal.vendor else None,
        client_address=request.remote_addr, reason=refusal.reason, method=given.method or None,
    )  # fmt: skip
    description = "The client could not be authenticated."
    if refusal.reason == reasons.DISABLED:
        description = "This site is disabled at the portal."
    raise OAuthError(401, "invalid_client", description, **{"WWW-Authenticate": clients.REALM})


def vendor_budget(caller: Caller) -> api_budgets.Budget:
    return api_budgets.of_vendor(caller.vendor.key, settings.current())


def network_budget() -> api_budgets.Budget:
    return api_budgets.of_network(FAILURES, request.remote_addr, settings.current())


async def spent(
    db_session: AsyncSession, budget: api_budgets.Budget, now: datetime
) -> OAuthError | None:
    """One call of `budget` (the UserInfo endpoint's too); the 429 to answer when it is over."""
    retry = await api_budgets.spend(db_session, budget, now=now, client_address=request.remote_addr)
    return too_many(retry) if retry is not None else None


async def charge(db_session: AsyncSession, budget: api_budgets.Budget, now: datetime) -> None:
    refusal = await spent(db_session, budget, now)
    if refusal is not None:
        raise refusal


async def charge_validated(db_session: AsyncSession, caller: Caller, now: datetime) -> None:
    """Inside the transaction that used a public client's code or token, now proven: one call
    of its vendor's budget. A vendor that proved its secret has paid already."""
    if not caller.public:
        return
    if await spent(db_session, vendor_budget(caller), now) is not None:
        raise OverBudget


async def counted_over(caller: Caller, hits: int, now: datetime) -> NoReturn:
    """Answer a call its vendor's budget counted over in the statement that would have used its
    code or token (oidc/token_exchange.py): the first of the minute is audited."""
    async with db.transaction() as db_session:
        retry = await api_budgets.over(
            db_session, vendor_budget(caller), hits, now=now, client_address=request.remote_addr
        )
    raise too_many(retry or rate_limits.retry_after(now))


async def over_budget(caller: Caller, now: datetime) -> NoReturn:
    """Answer OverBudget: the call is counted (and the minute's first refusal audited) again in
    a transaction of its own, since the one that used the grant rolled back with its count."""
    async with db.transaction() as db_session:
        refusal = await spent(db_session, vendor_budget(caller), now)
    raise refusal or too_many(rate_limits.retry_after(now))


async def charge_failure(
    db_session: AsyncSession, caller: Caller, now: datetime
) -> OAuthError | None:
    """A refused public client's call spends its network's budget (anyone can send one); the
    429 to answer instead, when that is spent."""
    return await spent(db_session, network_budget(), now) if caller.public else None


async def malformed(caller: Caller, error: OAuthError, now: datetime) -> NoReturn:
    """A request refused before any code or token is looked at: a public client's is a failure
    like any other."""
    async with db.transaction() as db_session:
        instead = await charge_failure(db_session, caller, now)
    raise instead or error


async def record_refusal(
    db_session: AsyncSession, caller: Caller, event: str, *, now: datetime, **details: Any
) -> None:
    """Audit a refused call. A public client's ordinary refusals are capped per network (anyone
    can send them without limit); a replay is always recorded, since it revokes."""
    fields = {"vendor_key": caller.vendor.key, "client_address": request.remote_addr, **details}
    if caller.public and event not in REVOKING:
        await audit.record_anonymous(db_session, event, now=now, **fields)
    else:
        await audit.record(db_session, event, "failure", **fields)
