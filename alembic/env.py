"""Alembic runs asynchronously against the URL the portal itself would use."""

import asyncio

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from portal import audit_models, models  # noqa: F401 - the audit log's tables, in the metadata
from portal.auth import models as auth_models  # noqa: F401 - the core's tables, in the metadata
from portal.db import database_url
from portal.outbox import models as outbox_models  # noqa: F401 - its table, in the metadata
from portal.settings import load_settings

config = context.config
# Every table: importing portal imports every front end with its own models too.
target_metadata = models.SQLModel.metadata


def url() -> str:
    configured = config.attributes.get("database_url")
    return configured if configured else database_url(load_settings())


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(url())
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
