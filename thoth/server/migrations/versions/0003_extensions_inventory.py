"""Decisions keep their violation id and the request's extension fields; the tool inventory.

Revision ID: 0003_extensions_inventory
Revises: 0002_sessions
Create Date: 2025-01-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_extensions_inventory"
down_revision: str | Sequence[str] | None = "0002_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("thoth_decisions") as batch:
        batch.add_column(sa.Column("violation_id", sa.String(64)))
        # the fields of the enforce request that the contract does not define (JSON), as sent
        batch.add_column(sa.Column("extensions", sa.Text))
    op.create_index("ix_thoth_decisions_violation", "thoth_decisions", ["violation_id"])
    op.create_table(
        "thoth_tool_inventory",
        sa.Column("tenant_id", sa.String(256), primary_key=True),
        sa.Column("agent_id", sa.String(256), primary_key=True),
        sa.Column("tool_name", sa.String(256), primary_key=True),
        sa.Column("description", sa.Text),
        sa.Column("input_schema", sa.Text),  # JSON
        sa.Column("source", sa.String(64)),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("thoth_tool_inventory")
    op.drop_index("ix_thoth_decisions_violation", table_name="thoth_decisions")
    with op.batch_alter_table("thoth_decisions") as batch:
        batch.drop_column("extensions")
        batch.drop_column("violation_id")
