"""The per-minute budgets of the APIs vendors call — the Enhanced user service, the OpenID Connect
token, revocation and UserInfo endpoints. A vendor's budget is spent only by calls proven to be
the vendor's; calls that prove nothing spend a budget of their client network's, so nobody can use
up a vendor's calls by sending garbage. Here a call is counted and the first refusal of each
minute audited; each front end answers a refusal in its own protocol's words."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from portal import audit, rate_limits
from portal.rate_limits import client_network
from portal.settings import Settings


@dataclass(frozen=True)
class Budget:
    bucket: str  # the rate counter's: "vendor:acme", "api-auth-failure:203.0.113.7"
    per_minute: int
    vendor_key: str | None = None  # whose budget; None for a client network's

    @property
    def kind(self) -> str:
        """What the audit log records: "vendor", or the kind of failure a network is held to."""
        return self.bucket.partition(":")[0]


VENDOR_BUCKETS = "vendor:"  # a vendor's bucket is this and its key


def of_vendor(key: str, settings: Settings) -> Budget:
    return Budget(bucket_of_vendor(key), settings.api_rate_per_minute, key)


def bucket_of_vendor(key: str) -> str:
    return VENDOR_BUCKETS + key


def of_network(kind: str, client_address: str | None, settings: Settings) -> Budget:
    """Failures of `kind` from the client's network (an IPv4 address, an IPv6 /64)."""
    return Budget(f"{kind}:{client_network(client_address)}", settings.api_failed_auth_per_minute)


async def spend(
    db: AsyncSession, budget: Budget, *, now: datetime, client_address: str | None
) -> int | None:
    """Count one call, in one statement; None within the budget, else the seconds until this
    minute's window ends (for Retry-After)."""
    hits = await rate_limits.hit(db, budget.bucket, now=now)
    return await over(db, budget, hits, now=now, client_address=client_address)


async def over(
    db: AsyncSession, budget: Budget, hits: int, *, now: datetime, client_address: str | None
) -> int | None:
    """The same, for a call already counted (the Enhanced redemption counts in its own
    statement). The first call over the budget is audited, once a window."""
    if hits <= budget.per_minute:
        return None
    if hits == budget.per_minute + 1:
        await audit.record(
            db, "api.rate_limited", "failure", vendor_key=budget.vendor_key,
            client_address=client_address, bucket=budget.kind,
        )  # fmt: skip
    return rate_limits.retry_after(now)
