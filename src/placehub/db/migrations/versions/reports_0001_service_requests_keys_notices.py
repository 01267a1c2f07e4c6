"""reports: service requests, Open311 keys, notices to reporters

Revision ID: reports_0001
Revises:
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'reports_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('reports',)
depends_on: str | Sequence[str] | None = ('alerts_0001', 'access_0001')

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql')
WHEN = placehub.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'service_requests',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('service_code', sa.String(length=50), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_notes', sa.Text(), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('address_string', sa.String(length=300), nullable=True),
        sa.Column('postcode', sa.String(length=10), nullable=True),
        sa.Column('attributes', JSON, nullable=True),
        sa.Column('thing_id', sa.Integer(), nullable=True),
        sa.Column('distance_m', sa.Float(), nullable=True),
        sa.Column('alert_id', BIG_ID, nullable=True),
        sa.Column('mandatory_stop', sa.Boolean(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('client', sa.String(length=200), nullable=False),
        sa.Column('media_url', sa.String(length=1000), nullable=True),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('first_name', sa.String(length=100), nullable=True),
        sa.Column('last_name', sa.String(length=100), nullable=True),
        sa.Column('phone', sa.String(length=50), nullable=True),
        sa.Column('photo', sa.LargeBinary(), nullable=True),
        sa.Column('photo_type', sa.String(length=50), nullable=True),
        sa.Column('personal_data_erased_at', WHEN, nullable=True),
        sa.Column('requested_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('closed_at', WHEN, nullable=True),
        sa.Column('closed_by', sa.String(length=100), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')",
                           name=op.f('ck_service_requests_status')),
        sa.ForeignKeyConstraint(['thing_id'], ['things.id'],
                                name=op.f('fk_service_requests_thing_id_things'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'],
                                name=op.f('fk_service_requests_alert_id_alerts'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_service_requests_organisation_id_organisations'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests')),
    )
    op.create_index(op.f('ix_service_requests_service_code'), 'service_requests',
                    ['service_code'])
    op.create_index(op.f('ix_service_requests_thing_id'), 'service_requests', ['thing_id'])
    op.create_index(op.f('ix_service_requests_alert_id'), 'service_requests', ['alert_id'])
    op.create_index(op.f('ix_service_requests_requested_at'), 'service_requests',
                    ['requested_at'])
    op.create_index('ix_service_requests_status_requested', 'service_requests',
                    ['status', 'requested_at'])
    op.create_table(
        'open311_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('revoked_at', WHEN, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_open311_keys_name')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_open311_keys_key_hash')),
    )
    op.create_table(
        'service_request_notices',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('request_id', BIG_ID, nullable=False),
        sa.Column('target', sa.String(length=320), nullable=False),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', WHEN, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('delivered_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'],
                                name=op.f('fk_service_request_notices_request_id_service_requests'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request_notices')),
    )
    op.create_index(op.f('ix_service_request_notices_request_id'), 'service_request_notices',
                    ['request_id'])
    op.create_index('ix_service_request_notices_status_next', 'service_request_notices',
                    ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_table('service_request_notices')
    op.drop_table('open311_keys')
    op.drop_table('service_requests')
