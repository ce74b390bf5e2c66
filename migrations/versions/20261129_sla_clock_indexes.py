"""sla_clocks: fewer index entries per clock written (most are written at intake)

ix_sla_clocks_ticket_id duplicated the leading column of the unique (ticket_id, stage, round);
ix_sla_clocks_unit_started served no query (the KPI reports filter on stage and started_at);
the open-clock indexes become partial (WHERE met_at IS NULL, as every query using them says),
so met clocks (the dispatch clock is born met at intake) have no entry in them.

Building the two partial indexes reads the whole table while routers wait to write clocks (they
keep their messages on Kafka meanwhile; nothing is lost): on tens of millions of clocks, upgrade
in a quiet hour.

Revision ID: 0130_sla_clock_indexes
Revises: 0120_knowledge_source
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130_sla_clock_indexes"
down_revision: str | None = "0120_knowledge_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("met_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_sla_clocks_ticket_id", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_unit_started", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_open_warn", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_open_due", table_name="sla_clocks")
    op.create_index("ix_sla_clocks_open_warn", "sla_clocks", ["warn_at"], unique=False,
                    postgresql_where=_OPEN, sqlite_where=_OPEN)
    op.create_index("ix_sla_clocks_open_due", "sla_clocks", ["due_at"], unique=False,
                    postgresql_where=_OPEN, sqlite_where=_OPEN)


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_open_due", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_open_warn", table_name="sla_clocks")
    op.create_index("ix_sla_clocks_open_due", "sla_clocks", ["met_at", "due_at"], unique=False)
    op.create_index("ix_sla_clocks_open_warn", "sla_clocks", ["met_at", "warn_at"], unique=False)
    op.create_index("ix_sla_clocks_unit_started", "sla_clocks", ["department_code", "started_at"], unique=False)
    op.create_index("ix_sla_clocks_ticket_id", "sla_clocks", ["ticket_id"], unique=False)
