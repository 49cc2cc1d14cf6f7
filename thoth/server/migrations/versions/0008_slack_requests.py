"""Slack interactivity: the signed requests already taken, so a replayed click is refused.

Revision ID: 0008_slack_requests
Revises: 0007_decision_ids
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_slack_requests"
down_revision: str | Sequence[str] | None = "0007_decision_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # one row per signed Slack request taken, named by a digest of its signature, kept while its
    # timestamp could still pass the five-minute check (older rows are swept as new ones arrive)
    op.create_table(
        "thoth_slack_requests",
        sa.Column("signature_sha256", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_thoth_slack_requests_time", "thoth_slack_requests", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_thoth_slack_requests_time", table_name="thoth_slack_requests")
    op.drop_table("thoth_slack_requests")
