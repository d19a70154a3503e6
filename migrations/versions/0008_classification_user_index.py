"""index on classifications by annotator (a user's done sources without a table scan)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index('ix_classifications_user_source', ['user_pk', 'source_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index('ix_classifications_user_source')
