"""assets: thresholds per organisation and asset type

Revision ID: assets_0001
Revises:
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'assets_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('assets',)
depends_on: str | Sequence[str] | None = 'core_0001'


def upgrade() -> None:
    op.create_table('asset_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('asset_type', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('updated_at', placehub.db.metadata.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_asset_thresholds_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_thresholds')),
    sa.UniqueConstraint('organisation_id', 'asset_type', 'name', name=op.f('uq_asset_thresholds_organisation_id_asset_type_name'))
    )


def downgrade() -> None:
    op.drop_table('asset_thresholds')
