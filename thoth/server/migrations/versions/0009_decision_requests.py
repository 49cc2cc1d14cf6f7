"""Decision requests: the fields of each enforce request the policy reads, so a recorded call can
be decided again under another policy (``thoth policy replay``).

Revision ID: 0009_decision_requests
Revises: 0008_slack_requests
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_decision_requests"
down_revision: str | Sequence[str] | None = "0008_slack_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # JSON, secrets scrubbed (thoth.server.replay.request_document); NULL for rows stored before
    # this revision, for hold resolutions, and for a request over the size cap: not replayable
    with op.batch_alter_table("thoth_decisions") as batch:
        batch.add_column(sa.Column("request", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("thoth_decisions") as batch:
        batch.drop_column("request")
