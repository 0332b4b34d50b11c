"""anonymisation pipeline: redactions, flags, local names, audit

Revision ID: 34b282adc515
Revises: 66edc15685bd
Create Date: 2026-11-25 14:02:41.292465

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '34b282adc515'
down_revision = '66edc15685bd'
branch_labels = None
depends_on = None


def upgrade():
    # Existing entries get urgent=false and revision 0 (server defaults, as they have rows).
    op.create_table('local_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list', sa.String(length=10), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_local_names_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_local_names_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_names')),
    sa.UniqueConstraint('org_id', 'list', 'text', name=op.f('uq_local_names_org_id'))
    )
    with op.batch_alter_table('local_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_names_org_id'), ['org_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_audit_events_entry_id_entries')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_audit_events_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_org_id'), ['org_id'], unique=False)

    op.create_table('redactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('first_word', sa.Integer(), nullable=False),
    sa.Column('last_word', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('start', sa.Double(), nullable=True),
    sa.Column('end', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_redactions_entry_id_entries')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_redactions_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redactions'))
    )
    with op.batch_alter_table('redactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redactions_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redactions_org_id'), ['org_id'], unique=False)

    op.create_table('safeguarding_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('first_word', sa.Integer(), nullable=False),
    sa.Column('last_word', sa.Integer(), nullable=False),
    sa.Column('phrase', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_safeguarding_flags_entry_id_entries')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_safeguarding_flags_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safeguarding_flags'))
    )
    with op.batch_alter_table('safeguarding_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safeguarding_flags_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_safeguarding_flags_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audio_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('redaction_revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rendered_revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_entries_urgent'), ['urgent'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_entries_approved_by_id_users'), 'users', ['approved_by_id'], ['id'])

    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entries_approved_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_entries_urgent'))
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('rendered_revision')
        batch_op.drop_column('redaction_revision')
        batch_op.drop_column('urgent')
        batch_op.drop_column('audio_key')

    with op.batch_alter_table('safeguarding_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safeguarding_flags_org_id'))
        batch_op.drop_index(batch_op.f('ix_safeguarding_flags_entry_id'))

    op.drop_table('safeguarding_flags')
    with op.batch_alter_table('redactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redactions_org_id'))
        batch_op.drop_index(batch_op.f('ix_redactions_entry_id'))

    op.drop_table('redactions')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_org_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_entry_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('local_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_names_org_id'))

    op.drop_table('local_names')
    # ### end Alembic commands ###
