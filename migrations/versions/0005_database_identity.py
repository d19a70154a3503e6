"""database identity

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table('database_identity',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_database_identity'))
    )
    op.bulk_insert(identity, [dict(id=uuid.uuid4().hex, created_at=datetime.now(timezone.utc))])


def downgrade() -> None:
    op.drop_table('database_identity')
