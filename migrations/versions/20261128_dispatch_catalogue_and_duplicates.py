"""dispatch catalogue versions; probable duplicates and issue clusters on tickets

Revision ID: 0060_dispatch
Revises: 0050_lifecycle
Create Date: 2026-11-28 17:53:02.270561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hotline.kit.db

revision: str = "0060_dispatch"
down_revision: str | None = "0050_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dispatch_catalogue_versions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rows", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_catalogue_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_dispatch_catalogue_versions_version")),
    )
    op.create_index(op.f("ix_dispatch_catalogue_versions_active"), "dispatch_catalogue_versions", ["active"],
                    unique=False)
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("probable_duplicate_of", BIG_ID, nullable=True))
        batch.add_column(sa.Column("issue_cluster_id", BIG_ID, nullable=True))
        batch.create_index(batch.f("ix_tickets_issue_cluster_id"), ["issue_cluster_id"], unique=False)
        batch.create_foreign_key(op.f("fk_tickets_probable_duplicate_of_tickets"), "tickets",
                                 ["probable_duplicate_of"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_probable_duplicate_of_tickets"), type_="foreignkey")
        batch.drop_index(batch.f("ix_tickets_issue_cluster_id"))
        batch.drop_column("issue_cluster_id")
        batch.drop_column("probable_duplicate_of")
    op.drop_index(op.f("ix_dispatch_catalogue_versions_active"), table_name="dispatch_catalogue_versions")
    op.drop_table("dispatch_catalogue_versions")
