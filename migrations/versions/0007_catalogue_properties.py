"""catalogue object properties (magnitudes)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('catalogue_objects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('properties', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('catalogue_objects', schema=None) as batch_op:
        batch_op.drop_column('properties')
