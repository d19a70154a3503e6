"""logins: server-side login sessions, so that logging out ends a login everywhere

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'logins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_pk', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_pk'], ['users.id'], name=op.f('fk_logins_user_pk_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_logins')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_logins_token_sha256')),
    )
    op.create_index(op.f('ix_logins_user_pk'), 'logins', ['user_pk'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_logins_user_pk'), table_name='logins')
    op.drop_table('logins')
