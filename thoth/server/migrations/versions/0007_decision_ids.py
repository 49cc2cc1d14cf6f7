"""Decision ids: one id per governed call, kept with its decision, its hold and its events, so a
reviewer can follow a call from the decision to what the agent did (``GET /v1/events?decision_id``).

Revision ID: 0007_decision_ids
Revises: 0006_hold_refs
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_decision_ids"
down_revision: str | Sequence[str] | None = "0006_hold_refs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows stored before this revision have no decision id: the calls they record never had one
    for table in ("thoth_decisions", "thoth_events", "thoth_holds"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("decision_id", sa.String(256)))
    op.create_index("ix_thoth_decisions_decision_id", "thoth_decisions", ["tenant_id", "decision_id"])
    op.create_index("ix_thoth_events_decision_id", "thoth_events", ["tenant_id", "decision_id"])


def downgrade() -> None:
    op.drop_index("ix_thoth_events_decision_id", table_name="thoth_events")
    op.drop_index("ix_thoth_decisions_decision_id", table_name="thoth_decisions")
    for table in ("thoth_holds", "thoth_events", "thoth_decisions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("decision_id")
