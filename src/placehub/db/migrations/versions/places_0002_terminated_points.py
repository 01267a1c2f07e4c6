"""places: terminated points (postcodes the lookup lists as no longer live)

Revision ID: places_0002
Revises: places_0001
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'places_0002'
down_revision: str | Sequence[str] | None = 'places_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'terminated_points',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('ref', sa.String(length=100), nullable=False),
        sa.Column('terminated', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_terminated_points')),
        sa.UniqueConstraint('source', 'ref', name=op.f('uq_terminated_points_source_ref')),
    )


def downgrade() -> None:
    op.drop_table('terminated_points')
