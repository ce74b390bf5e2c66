"""knowledge: the ticket an article was drawn from

Revision ID: 0120_knowledge_source
Revises: 0070_sla
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0120_knowledge_source"
down_revision: str | None = "0070_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("knowledge_article_versions") as batch:
        batch.add_column(sa.Column("source_tracking_number", sa.String(length=40), nullable=True))
        batch.create_index(batch.f("ix_knowledge_article_versions_source_tracking_number"),
                           ["source_tracking_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("knowledge_article_versions") as batch:
        batch.drop_index(batch.f("ix_knowledge_article_versions_source_tracking_number"))
        batch.drop_column("source_tracking_number")
