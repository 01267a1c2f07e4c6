"""access: secrets the installation keeps (session key, first-run setup link)

Revision ID: access_0003
Revises: access_0002
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'access_0003'
down_revision: str | Sequence[str] | None = 'access_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'instance_secrets',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('created_at', placehub.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_secrets')),
    )


def downgrade() -> None:
    op.drop_table('instance_secrets')
