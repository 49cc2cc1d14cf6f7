"""Holds get a public ref (a digest of the token, for URLs such as approval_url), and decisions
an index by time (the console's analytics and violations read decisions by window).

Revision ID: 0006_hold_refs
Revises: 0005_event_redaction
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_hold_refs"
down_revision: str | Sequence[str] | None = "0005_event_redaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REF_HEX = 20  # thoth.server.holds.REF_HEX, copied: a migration must not change when the code does


def upgrade() -> None:
    with op.batch_alter_table("thoth_holds") as batch:
        batch.add_column(sa.Column("hold_ref", sa.String(32)))
    holds = sa.table("thoth_holds", sa.column("hold_token", sa.String), sa.column("hold_ref", sa.String))
    conn = op.get_bind()
    tokens = [row[0] for row in conn.execute(sa.select(holds.c.hold_token))]
    for token in tokens:
        ref = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:_REF_HEX]
        conn.execute(holds.update().where(holds.c.hold_token == token).values(hold_ref=ref))
    op.create_index("ix_thoth_holds_ref", "thoth_holds", ["hold_ref"], unique=True)
    op.create_index("ix_thoth_decisions_time", "thoth_decisions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_thoth_decisions_time", table_name="thoth_decisions")
    op.drop_index("ix_thoth_holds_ref", table_name="thoth_holds")
    with op.batch_alter_table("thoth_holds") as batch:
        batch.drop_column("hold_ref")
