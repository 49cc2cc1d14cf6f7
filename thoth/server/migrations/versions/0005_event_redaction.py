"""Events say how many of their values the server redacted before storing them.

Revision ID: 0005_event_redaction
Revises: 0004_console
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_event_redaction"
down_revision: str | Sequence[str] | None = "0004_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # events stored before this revision were stored as sent: none redacted by the server
    with op.batch_alter_table("thoth_events") as batch:
        batch.add_column(sa.Column("redacted", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("thoth_events") as batch:
        batch.drop_column("redacted")
