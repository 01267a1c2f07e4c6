"""care: residents, consent records and break-glass access for home sensors

Revision ID: care_0001
Revises:
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'care_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('care',)
depends_on: str | Sequence[str] | None = 'access_0004'

Time = placehub.db.metadata.UTCDateTime(timezone=True)
JSONType = placehub.db.metadata.JSONType


def upgrade() -> None:
    op.create_table(
        'care_residents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('council_id', sa.Integer(), nullable=False),
        sa.Column('created_at', Time, nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_care_residents_organisation_id_organisations'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['council_id'], ['organisations.id'],
                                name=op.f('fk_care_residents_council_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_residents')),
        sa.UniqueConstraint('reference', name=op.f('uq_care_residents_reference')),
        sa.UniqueConstraint('organisation_id', name=op.f('uq_care_residents_organisation_id')),
    )
    op.create_table(
        'care_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('given_by', sa.String(length=200), nullable=False),
        sa.Column('capacity', sa.String(length=20), nullable=False),
        sa.Column('purposes', JSONType, nullable=False),
        sa.Column('agreed_at', Time, nullable=False),
        sa.Column('recorded_by', sa.String(length=200), nullable=False),
        sa.Column('withdrawn_at', Time, nullable=True),
        sa.Column('withdrawn_by', sa.String(length=200), nullable=True),
        sa.Column('withdrawal_note', sa.Text(), nullable=True),
        sa.CheckConstraint("capacity IN ('resident', 'representative')",
                           name=op.f('ck_care_consents_capacity')),
        sa.ForeignKeyConstraint(['resident_id'], ['care_residents.id'],
                                name=op.f('fk_care_consents_resident_id_care_residents'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_consents')),
    )
    op.create_index(op.f('ix_care_consents_resident_id'), 'care_consents', ['resident_id'])
    op.create_table(
        'care_break_glass',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('started_at', Time, nullable=False),
        sa.Column('expires_at', Time, nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['care_residents.id'],
                                name=op.f('fk_care_break_glass_resident_id_care_residents'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_break_glass')),
    )
    op.create_index(op.f('ix_care_break_glass_resident_id'), 'care_break_glass',
                    ['resident_id'])


def downgrade() -> None:
    op.drop_table('care_break_glass')
    op.drop_table('care_consents')
    op.drop_table('care_residents')
