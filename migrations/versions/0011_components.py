"""components: radio components, the component groups of answers, and the group of each host

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'components',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('component_id', sa.String(length=100), nullable=False),
        sa.Column('ra', sa.Float(), nullable=False),
        sa.Column('dec', sa.Float(), nullable=False),
        sa.Column('peak_flux', sa.Float(), nullable=True),
        sa.Column('total_flux', sa.Float(), nullable=True),
        sa.Column('major', sa.Float(), nullable=True),
        sa.Column('minor', sa.Float(), nullable=True),
        sa.Column('pa', sa.Float(), nullable=True),
        sa.CheckConstraint('ra >= 0 AND ra < 360', name=op.f('ck_components_ra_range')),
        sa.CheckConstraint('dec >= -90 AND dec <= 90', name=op.f('ck_components_dec_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_components')),
        sa.UniqueConstraint('component_id', name=op.f('uq_components_component_id')),
    )
    op.create_index('ix_components_dec_ra', 'components', ['dec', 'ra'], unique=False)
    op.create_table(
        'answer_components',
        sa.Column('classification_pk', sa.Integer(), nullable=False),
        sa.Column('component_pk', sa.Integer(), nullable=False),
        sa.Column('group_number', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['classification_pk'], ['classifications.id'],
                                name=op.f('fk_answer_components_classification_pk_classifications'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['component_pk'], ['components.id'],
                                name=op.f('fk_answer_components_component_pk_components'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('classification_pk', 'component_pk', name=op.f('pk_answer_components')),
    )
    with op.batch_alter_table('host_marks') as batch:
        batch.add_column(sa.Column('group_number', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('host_marks') as batch:
        batch.drop_column('group_number')
    op.drop_table('answer_components')
    op.drop_index('ix_components_dec_ra', table_name='components')
    op.drop_table('components')
