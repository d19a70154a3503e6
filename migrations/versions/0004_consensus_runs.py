"""consensus runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consensus_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=50), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('xid_version', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('n_sources', sa.Integer(), nullable=False),
    sa.Column('n_hosts', sa.Integer(), nullable=False),
    sa.Column('n_classifications', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consensus_runs'))
    )
    op.create_table('consensus_hosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_pk', sa.Integer(), nullable=False),
    sa.Column('source_pk', sa.Integer(), nullable=False),
    sa.Column('ra', sa.Float(), nullable=False),
    sa.Column('dec', sa.Float(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('level', sa.Float(), nullable=False),
    sa.Column('scatter_arcsec', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_pk'], ['consensus_runs.id'], name=op.f('fk_consensus_hosts_run_pk_consensus_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_pk'], ['sources.id'], name=op.f('fk_consensus_hosts_source_pk_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consensus_hosts'))
    )
    with op.batch_alter_table('consensus_hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consensus_hosts_run_pk'), ['run_pk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('consensus_hosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consensus_hosts_run_pk'))

    op.drop_table('consensus_hosts')
    op.drop_table('consensus_runs')
