"""publishing: shows, publications, their history, listeners' feed links

Revision ID: 72eb9b153954
Revises: 488d2bc183f8
Create Date: 2026-12-07 19:25:33.390150

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '72eb9b153954'
down_revision = '488d2bc183f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('podcast_shows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('subcategory', sa.String(length=100), nullable=True),
    sa.Column('explicit', sa.Boolean(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=True),
    sa.Column('owner_email', sa.String(length=254), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('artwork_key', sa.String(length=300), nullable=True),
    sa.Column('artwork_type', sa.String(length=20), nullable=True),
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('feed_version', sa.Integer(), nullable=False),
    sa.Column('feed_changed_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_podcast_shows_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_podcast_shows')),
    sa.UniqueConstraint('org_id', name=op.f('uq_podcast_shows_org_id'))
    )
    op.create_table('feed_listeners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('last_feed_at', sa.DateTime(), nullable=True),
    sa.Column('last_audio_at', sa.DateTime(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_feed_listeners_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_feed_listeners_org_id_organisations')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_feed_listeners_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_listeners_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_listeners')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_feed_listeners_token_hash'))
    )
    with op.batch_alter_table('feed_listeners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_listeners_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_listeners_user_id'), ['user_id'], unique=False)

    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('render_id', sa.Integer(), nullable=False),
    sa.Column('mp3_sha256', sa.String(length=64), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.Column('copy_key', sa.String(length=300), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_publications_approved_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_publications_ended_by_id_users')),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_publications_episode_id_episodes')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_publications_org_id_organisations')),
    sa.ForeignKeyConstraint(['render_id'], ['episode_renders.id'], name=op.f('fk_publications_render_id_episode_renders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications'))
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publications_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_state'), ['state'], unique=False)

    op.create_table('publication_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('render_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_publication_events_episode_id_episodes')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_publication_events_org_id_organisations')),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_publication_events_publication_id_publications')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_publication_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_events'))
    )
    with op.batch_alter_table('publication_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_events_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_events_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guid', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_episodes_guid'), ['guid'])



def downgrade():
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_episodes_guid'), type_='unique')
        batch_op.drop_column('guid')

    with op.batch_alter_table('publication_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_events_org_id'))
        batch_op.drop_index(batch_op.f('ix_publication_events_episode_id'))

    op.drop_table('publication_events')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publications_state'))
        batch_op.drop_index(batch_op.f('ix_publications_org_id'))
        batch_op.drop_index(batch_op.f('ix_publications_episode_id'))

    op.drop_table('publications')
    with op.batch_alter_table('feed_listeners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_listeners_user_id'))
        batch_op.drop_index(batch_op.f('ix_feed_listeners_org_id'))

    op.drop_table('feed_listeners')
    op.drop_table('podcast_shows')
