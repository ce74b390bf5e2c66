"""knowledge base articles and versions

Revision ID: 0110_knowledge
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hotline.kit.db

revision: str = "0110_knowledge"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_code"], ["departments.code"],
                                name=op.f("fk_knowledge_articles_department_code_departments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
    )
    op.create_index(op.f("ix_knowledge_articles_department_code"), "knowledge_articles",
                    ["department_code"], unique=False)
    op.create_table(
        "knowledge_article_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("questions", Json, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("policy_basis", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", hotline.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["knowledge_articles.id"],
                                name=op.f("fk_knowledge_article_versions_article_id_knowledge_articles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_article_versions")),
        sa.UniqueConstraint("article_id", "version",
                            name=op.f("uq_knowledge_article_versions_article_id_version")),
    )
    op.create_index(op.f("ix_knowledge_article_versions_article_id"), "knowledge_article_versions",
                    ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_table("knowledge_article_versions")
    op.drop_table("knowledge_articles")
