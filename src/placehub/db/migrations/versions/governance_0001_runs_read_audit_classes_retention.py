"""governance: algorithm run records, read audit, data classes and retention periods

Revision ID: governance_0001
Revises:
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'governance_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('governance',)
depends_on: str | Sequence[str] | None = 'core_0001'

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = placehub.db.metadata.UTCDateTime(timezone=True)
JSONType = placehub.db.metadata.JSONType


def upgrade() -> None:
    op.create_table(
        'algorithm_runs',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('algorithm', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=100), nullable=False),
        sa.Column('started_at', Time, nullable=False),
        sa.Column('duration_seconds', sa.Float(), nullable=True),
        sa.Column('parameters', JSONType, nullable=True),
        sa.Column('seed', BigId, nullable=True),
        sa.Column('inputs', JSONType, nullable=True),
        sa.Column('volumes', JSONType, nullable=True),
        sa.Column('outcome', sa.String(length=50), nullable=False),
        sa.Column('metrics', JSONType, nullable=True),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_algorithm_runs')),
    )
    op.create_index('ix_algorithm_runs_algorithm_started', 'algorithm_runs',
                    ['algorithm', 'started_at'], unique=False)
    op.create_table(
        'read_audit',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('at', Time, nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('context', sa.String(length=500), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('thing_id', sa.Integer(), nullable=True),
        sa.Column('datastream_id', sa.Integer(), nullable=True),
        sa.Column('data_class', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_read_audit')),
    )
    op.create_index('ix_read_audit_thing_at', 'read_audit', ['thing_id', 'at'], unique=False)
    op.create_index('ix_read_audit_datastream_at', 'read_audit', ['datastream_id', 'at'],
                    unique=False)
    op.create_index('ix_read_audit_organisation_at', 'read_audit', ['organisation_id', 'at'],
                    unique=False)
    op.create_table(
        'datastream_policies',
        sa.Column('datastream_id', sa.Integer(), nullable=False),
        sa.Column('data_class', sa.String(length=20), nullable=True),
        sa.Column('retention_days', sa.Integer(), nullable=True),
        sa.Column('purpose', sa.Text(), nullable=True),
        sa.Column('updated_at', Time, nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.CheckConstraint("data_class IS NULL OR data_class IN "
                           "('public', 'organisation', 'restricted', 'personal')",
                           name=op.f('ck_datastream_policies_data_class')),
        sa.CheckConstraint('retention_days IS NULL OR retention_days > 0',
                           name=op.f('ck_datastream_policies_retention_days')),
        sa.ForeignKeyConstraint(['datastream_id'], ['datastreams.id'],
                                name=op.f('fk_datastream_policies_datastream_id_datastreams'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('datastream_id', name=op.f('pk_datastream_policies')),
    )
    op.create_table(
        'retention_periods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('data_class', sa.String(length=20), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('updated_at', Time, nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.CheckConstraint('days > 0', name=op.f('ck_retention_periods_days')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_retention_periods_organisation_id_organisations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_periods')),
        sa.UniqueConstraint('organisation_id', 'data_class',
                            name=op.f('uq_retention_periods_organisation_id_data_class')),
    )


def downgrade() -> None:
    op.drop_table('retention_periods')
    op.drop_table('datastream_policies')
    op.drop_index('ix_read_audit_organisation_at', table_name='read_audit')
    op.drop_index('ix_read_audit_datastream_at', table_name='read_audit')
    op.drop_index('ix_read_audit_thing_at', table_name='read_audit')
    op.drop_table('read_audit')
    op.drop_index('ix_algorithm_runs_algorithm_started', table_name='algorithm_runs')
    op.drop_table('algorithm_runs')
