"""insight: rate indicators (numerator, denominator, multiplier) and council index definitions

Revision ID: insight_0002
Revises: insight_0001
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'insight_0002'
down_revision: str | Sequence[str] | None = 'insight_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = 'access_0001'


def upgrade() -> None:
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('numerator', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('denominator', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('multiplier', sa.Float(), nullable=False,
                                      server_default='1'))
    op.create_table('index_definitions',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', placehub.db.metadata.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_index_definitions_organisation_id_organisations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_definitions'))
    )


def downgrade() -> None:
    op.drop_table('index_definitions')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_column('multiplier')
        batch_op.drop_column('denominator')
        batch_op.drop_column('numerator')
