"""The console: per-server secrets, signed-in console sessions, and each hold's redacted arguments.

Revision ID: 0004_console
Revises: 0003_extensions_inventory
Create Date: 2025-01-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_console"
down_revision: str | Sequence[str] | None = "0003_extensions_inventory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # secrets every replica on this store must share (the console's cookie key), by name;
    # the first replica to need one creates it
    op.create_table(
        "thoth_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    # a console sign-in lives until it expires or its user signs out (the row is deleted);
    # the row names the session by a digest of its id and the key by a digest of the key
    op.create_table(
        "thoth_console_sessions",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("thoth_holds") as batch:
        # what an approver reads: the call's arguments as thoth redacts event content (JSON text)
        batch.add_column(sa.Column("redacted_args", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("thoth_holds") as batch:
        batch.drop_column("redacted_args")
    op.drop_table("thoth_console_sessions")
    op.drop_table("thoth_secrets")
