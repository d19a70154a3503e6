"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.Column('ra', sa.Float(), nullable=False),
    sa.Column('dec', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('dec >= -90 AND dec <= 90', name=op.f('ck_sources_dec_range')),
    sa.CheckConstraint('ra >= 0 AND ra < 360', name=op.f('ck_sources_ra_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('source_id', name=op.f('uq_sources_source_id'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('annotator', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('classifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.String(length=100), nullable=False),
    sa.Column('source_pk', sa.Integer(), nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('no_host', sa.Boolean(), nullable=False),
    sa.Column('artefact', sa.Boolean(), nullable=False),
    sa.Column('blend', sa.Boolean(), nullable=False),
    sa.Column('too_zoomed_in', sa.Boolean(), nullable=False),
    sa.Column('unsure', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['source_pk'], ['sources.id'], name=op.f('fk_classifications_source_pk_sources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_pk'], ['users.id'], name=op.f('fk_classifications_user_pk_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classifications')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_classifications_submission_id'))
    )
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index('ix_classifications_source_user', ['source_pk', 'user_pk', 'created_at'], unique=False)

    op.create_table('layers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_pk', sa.Integer(), nullable=False),
    sa.Column('band', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('radio', 'optical')", name=op.f('ck_layers_kind')),
    sa.ForeignKeyConstraint(['source_pk'], ['sources.id'], name=op.f('fk_layers_source_pk_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layers')),
    sa.UniqueConstraint('source_pk', 'band', name='uq_layers_source_band')
    )
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_layers_source_pk'), ['source_pk'], unique=False)

    op.create_table('host_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('classification_pk', sa.Integer(), nullable=False),
    sa.Column('ra', sa.Float(), nullable=False),
    sa.Column('dec', sa.Float(), nullable=False),
    sa.Column('layer_pk', sa.Integer(), nullable=True),
    sa.Column('pixel_x', sa.Float(), nullable=True),
    sa.Column('pixel_y', sa.Float(), nullable=True),
    sa.Column('catalogue_id', sa.String(length=100), nullable=True),
    sa.CheckConstraint('dec >= -90 AND dec <= 90', name=op.f('ck_host_marks_dec_range')),
    sa.CheckConstraint('ra >= 0 AND ra < 360', name=op.f('ck_host_marks_ra_range')),
    sa.ForeignKeyConstraint(['classification_pk'], ['classifications.id'], name=op.f('fk_host_marks_classification_pk_classifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['layer_pk'], ['layers.id'], name=op.f('fk_host_marks_layer_pk_layers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_marks'))
    )
    with op.batch_alter_table('host_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_marks_classification_pk'), ['classification_pk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('host_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_marks_classification_pk'))

    op.drop_table('host_marks')
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_layers_source_pk'))

    op.drop_table('layers')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index('ix_classifications_source_user')

    op.drop_table('classifications')
    op.drop_table('users')
    op.drop_table('sources')
