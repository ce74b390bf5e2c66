"""calls: phone calls reported by the PBX (CTI events)

Revision ID: 0031_calls
Revises: 0060_auth
Create Date: 2026-11-28 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hotline.kit.db

revision: str = "0031_calls"
down_revision: str | None = "0060_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("callee", sa.String(length=64), nullable=True),
        sa.Column("agents", _JSON, nullable=True),
        sa.Column("answering_number", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("started_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cause", sa.String(length=32), nullable=True),
        sa.Column("recording_url", sa.String(length=2000), nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column("ticket_id", _ID, nullable=True),
        sa.Column("details", _JSON, nullable=True),
        sa.Column("created_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_calls_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_calls_call_id")),
    )
    op.create_index(op.f("ix_calls_caller"), "calls", ["caller"], unique=False)
    op.create_index(op.f("ix_calls_ticket_id"), "calls", ["ticket_id"], unique=False)
    op.create_index("ix_calls_missed_id", "calls", ["missed", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_calls_missed_id", table_name="calls")
    op.drop_index(op.f("ix_calls_ticket_id"), table_name="calls")
    op.drop_index(op.f("ix_calls_caller"), table_name="calls")
    op.drop_table("calls")
