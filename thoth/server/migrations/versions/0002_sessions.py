"""thoth_sessions: each session's state in one versioned row, read and updated with each decision.

Revision ID: 0002_sessions
Revises: 0001_initial
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sessions"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thoth_sessions",
        sa.Column("tenant_id", sa.String(256), primary_key=True),
        sa.Column("session_id", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("chain_index", sa.Integer),
        sa.Column("chain_hash", sa.String(64)),
    )
    # Every session with history gets a row at version 0, which the server rebuilds from that
    # history on first use; a session without a row is then known to be new (no history to read).
    op.execute(
        "INSERT INTO thoth_sessions (tenant_id, session_id, version, state) "
        "SELECT tenant_id, session_id, 0, '{}' FROM thoth_decisions "
        "UNION SELECT tenant_id, session_id, 0, '{}' FROM thoth_events"
    )


def downgrade() -> None:
    op.drop_table("thoth_sessions")
