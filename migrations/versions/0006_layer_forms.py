"""layers cut from mosaics or fetched from archives

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.String(length=10), server_default='file', nullable=False))
        batch_op.add_column(sa.Column('field_arcsec', sa.Float(), nullable=True))
        batch_op.create_check_constraint('form', "form IN ('file', 'mosaic', 'archive')")


def downgrade() -> None:
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_layers_form'), type_='check')
        batch_op.drop_column('field_arcsec')
        batch_op.drop_column('form')
