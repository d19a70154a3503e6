"""consensus runs' parameters as JSON, not text

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consensus_runs', schema=None) as batch_op:
        batch_op.alter_column('params', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using='params::json')


def downgrade() -> None:
    with op.batch_alter_table('consensus_runs', schema=None) as batch_op:
        batch_op.alter_column('params', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False,
                              postgresql_using='params::text')
