"""lifecycle: ticket lifecycle columns, unit assignments (lead / co-handling), the outbox

Revision ID: 0050_lifecycle
Revises: 0031_calls
Create Date: 2026-11-28 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hotline.kit.db

revision: str = "0050_lifecycle"
down_revision: str | None = "0031_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_AT = hotline.kit.db.UTCDateTime(timezone=True)

_TICKET_COLUMNS: list[sa.Column] = [  # type: ignore[type-arg]
    sa.Column("return_due_at", _AT, nullable=True),
    sa.Column("dispatched_at", _AT, nullable=True),
    sa.Column("accepted_at", _AT, nullable=True),
    sa.Column("first_contact_at", _AT, nullable=True),
    sa.Column("replied_at", _AT, nullable=True),
    sa.Column("reply_text", sa.Text(), nullable=True),
    sa.Column("returned_at", _AT, nullable=True),
    sa.Column("return_reason", sa.String(length=40), nullable=True),
    sa.Column("return_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("extension_state", sa.String(length=16), nullable=True),
    sa.Column("extension_requested_days", sa.Integer(), nullable=True),
    sa.Column("extension_days", sa.Integer(), nullable=True),
    sa.Column("extension_reason", sa.Text(), nullable=True),
    sa.Column("extension_requested_at", _AT, nullable=True),
    sa.Column("extension_decided_at", _AT, nullable=True),
    sa.Column("satisfaction", sa.String(length=24), nullable=True),
    sa.Column("callback_at", _AT, nullable=True),
    sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("merged_into_id", _ID, nullable=True),
    sa.Column("handed_off_to", sa.String(length=8), nullable=True),
    sa.Column("refusal_reason", sa.String(length=40), nullable=True),
    sa.Column("closed_at", _AT, nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in _TICKET_COLUMNS:
            batch.add_column(column)
        batch.create_foreign_key(op.f("fk_tickets_merged_into_id_tickets"), "tickets", ["merged_into_id"], ["id"])

    op.create_table(
        "ticket_assignments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", _AT, nullable=False),
        sa.Column("accepted_at", _AT, nullable=True),
        sa.Column("replied_at", _AT, nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["department_code"], ["departments.code"],
                                name=op.f("fk_ticket_assignments_department_code_departments")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_assignments_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_assignments")),
        sa.UniqueConstraint("ticket_id", "department_code", name=op.f("uq_ticket_assignments_ticket_id_department_code")),
    )
    op.create_index("ix_ticket_assignments_department", "ticket_assignments", ["department_code", "ticket_id"])

    op.create_table(
        "outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("destination", sa.String(length=500), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _AT, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _AT, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_due", "outbox", ["sent_at", "next_attempt_at", "id"])
    op.create_index("ix_outbox_key", "outbox", ["kind", "key", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_key", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_ticket_assignments_department", table_name="ticket_assignments")
    op.drop_table("ticket_assignments")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey")
        for column in reversed(_TICKET_COLUMNS):
            batch.drop_column(column.name)
