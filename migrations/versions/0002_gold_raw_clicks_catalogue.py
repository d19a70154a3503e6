"""gold sources, raw clicks, catalogue objects

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('ra', sa.Float(), nullable=False),
    sa.Column('dec', sa.Float(), nullable=False),
    sa.CheckConstraint('dec >= -90 AND dec <= 90', name=op.f('ck_catalogue_objects_dec_range')),
    sa.CheckConstraint('ra >= 0 AND ra < 360', name=op.f('ck_catalogue_objects_ra_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_objects')),
    sa.UniqueConstraint('object_id', name=op.f('uq_catalogue_objects_object_id'))
    )
    with op.batch_alter_table('catalogue_objects', schema=None) as batch_op:
        batch_op.create_index('ix_catalogue_objects_dec_ra', ['dec', 'ra'], unique=False)

    with op.batch_alter_table('host_marks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('click_ra', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('click_dec', sa.Float(), nullable=True))

    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_gold', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('is_gold')

    with op.batch_alter_table('host_marks', schema=None) as batch_op:
        batch_op.drop_column('click_dec')
        batch_op.drop_column('click_ra')

    with op.batch_alter_table('catalogue_objects', schema=None) as batch_op:
        batch_op.drop_index('ix_catalogue_objects_dec_ra')

    op.drop_table('catalogue_objects')
