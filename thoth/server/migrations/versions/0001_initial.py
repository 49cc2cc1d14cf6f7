"""The store as thoth created it before schema versions: events, holds and decisions.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

A database made by that thoth (``metadata.create_all``, no version table) already has these
tables: thoth.server.migrate stamps it with this revision instead of running it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thoth_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(256), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("agent_id", sa.String(256), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("chain_index", sa.Integer),
        sa.Column("hash", sa.String(64)),
        sa.Column("chain_status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("ingested_at", sa.String(64)),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_thoth_events_tenant_event"),
    )
    op.create_index("ix_thoth_events_session", "thoth_events", ["tenant_id", "session_id", "chain_index"])
    op.create_table(
        "thoth_holds",
        sa.Column("hold_token", sa.String(256), primary_key=True),
        sa.Column("tenant_id", sa.String(256), nullable=False),
        sa.Column("agent_id", sa.String(256), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("user_id", sa.String(256)),
        sa.Column("tool_name", sa.String(256), nullable=False),
        sa.Column("args_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("rule_id", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float),
        sa.Column("approver", sa.String(256)),
        sa.Column("resolution_reason", sa.Text),
    )
    op.create_index("ix_thoth_holds_tenant", "thoth_holds", ["tenant_id", "created_at"])
    op.create_table(
        "thoth_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(256), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("agent_id", sa.String(256), nullable=False),
        sa.Column("tool_name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fact", sa.String(16)),
        sa.Column("mode", sa.String(16)),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("shadow_decision", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("rule_ids", sa.Text),
        sa.Column("latency_ms", sa.Float),
        sa.Column("hold_token", sa.String(256)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_thoth_decisions_session", "thoth_decisions", ["tenant_id", "session_id", "id"])


def downgrade() -> None:
    op.drop_table("thoth_decisions")
    op.drop_table("thoth_holds")
    op.drop_table("thoth_events")
