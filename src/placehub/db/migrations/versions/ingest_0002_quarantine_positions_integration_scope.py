"""ingest: processing attempts, simulated and positions, integration scope and revocation

Revision ID: ingest_0002
Revises: ingest_0001
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import placehub.db.metadata

revision: str = 'ingest_0002'
down_revision: str | Sequence[str] | None = 'ingest_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_journal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('retry_at', placehub.db.metadata.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('simulated', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('position', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                      nullable=True))
        batch_op.add_column(sa.Column('integration', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('ingest_integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rotated_at',
                                      placehub.db.metadata.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('revoked_at',
                                      placehub.db.metadata.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ingest_integrations', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('rotated_at')
    with op.batch_alter_table('ingest_journal', schema=None) as batch_op:
        for column in ('organisation_id', 'integration', 'position', 'simulated', 'retry_at',
                       'attempts'):
            batch_op.drop_column(column)
