"""access: memberships that expire (time-limited break-glass access)

Revision ID: access_0004
Revises: access_0003
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import placehub.db.metadata

revision: str = 'access_0004'
down_revision: str | Sequence[str] | None = 'access_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('memberships') as batch:
        batch.add_column(sa.Column('expires_at',
                                   placehub.db.metadata.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('memberships') as batch:
        batch.drop_column('expires_at')
