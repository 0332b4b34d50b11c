"""security: session versions, job retry times, idempotency keys

Revision ID: 8adcc995da5d
Revises: 34b282adc515
Create Date: 2026-12-07 13:38:00.971949

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8adcc995da5d'
down_revision = '34b282adc515'
branch_labels = None
depends_on = None


def upgrade():
    # Existing accounts start at session version 1 (the server default): every cookie
    # issued before this upgrade carries no version and is refused once, so people sign in
    # again after the upgrade. Existing jobs have no retry time; existing entries no key.
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_entries_idempotency_key'), ['idempotency_key'])

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_retry_at'), ['retry_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_retry_at'))
        batch_op.drop_column('retry_at')

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_entries_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
