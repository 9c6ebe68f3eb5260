"""Liveness and readiness, for load balancers and orchestrators."""

import asyncio

from quart import Blueprint
from sqlalchemy import text

from portal import db

blueprint = Blueprint("health", __name__)
READY_TIMEOUT_SECONDS = 2.0


@blueprint.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
async def readyz() -> tuple[dict[str, str], int]:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), db.engine().connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure to answer means: do not send traffic here
        return {"status": "unavailable", "database": "not answering"}, 503
    return {"status": "ok", "database": "ok"}, 200
