"""Alembic's environment for the thoth store.

thoth.server.migrate runs it with the connection it passes in ``config.attributes``, inside its
schema lock and transaction (which it commits). It never configures logging: there is no
alembic.ini. A new revision goes in versions/ with explicit operations (never
``metadata.create_all``: a migration must not change when store.py changes later), and
tests/server/test_migrations.py checks that the upgraded database matches store.metadata.
"""

from __future__ import annotations

from alembic import context

from thoth.server.migrate import VERSION_TABLE
from thoth.server.store import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("run thoth's migrations with `thoth db upgrade --db URL`")
    context.configure(
        connection=connection,
        target_metadata=metadata,  # for autogenerate, as a draft to rewrite by hand
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
