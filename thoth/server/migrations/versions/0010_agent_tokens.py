"""Token budgets: the LLM tokens each agent spent per UTC day, for ``tokens_per_agent_per_day``.

A session's own tokens live in its record (``thoth_sessions.state``); an agent's day spans its
sessions, so it is counted apart, one row per tenant, agent and day, as events are ingested.

Revision ID: 0010_agent_tokens
Revises: 0009_decision_requests
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_agent_tokens"
down_revision: str | Sequence[str] | None = "0009_decision_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thoth_agent_tokens",
        sa.Column("tenant_id", sa.String(256), primary_key=True),
        sa.Column("agent_id", sa.String(256), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC, of receipt
        sa.Column("tokens", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("thoth_agent_tokens")
