"""podcast studio: episodes, segments, renders, recordings, music

Revision ID: 488d2bc183f8
Revises: 8adcc995da5d
Create Date: 2026-12-07 16:06:09.339487

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '488d2bc183f8'
down_revision = '8adcc995da5d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('season', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('theme', sa.String(length=100), nullable=True),
    sa.Column('cover_key', sa.String(length=300), nullable=True),
    sa.Column('cover_type', sa.String(length=20), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('current_render_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_episodes_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_episodes_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episodes'))
    )
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episodes_org_id'), ['org_id'], unique=False)

    op.create_table('music_tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('made_by', sa.String(length=200), nullable=False),
    sa.Column('licence', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=True),
    sa.Column('duration', sa.Double(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_music_tracks_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_music_tracks_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_music_tracks'))
    )
    with op.batch_alter_table('music_tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_music_tracks_org_id'), ['org_id'], unique=False)

    op.create_table('cohost_recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('original_key', sa.String(length=300), nullable=True),
    sa.Column('transcript_key', sa.String(length=300), nullable=True),
    sa.Column('duration', sa.Double(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_cohost_recordings_episode_id_episodes')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_cohost_recordings_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cohost_recordings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohost_recordings'))
    )
    with op.batch_alter_table('cohost_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohost_recordings_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cohost_recordings_org_id'), ['org_id'], unique=False)

    op.create_table('episode_cohosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('release_version', sa.String(length=20), nullable=True),
    sa.Column('released_at', sa.DateTime(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_episode_cohosts_episode_id_episodes')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_episode_cohosts_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_episode_cohosts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode_cohosts')),
    sa.UniqueConstraint('episode_id', 'user_id', name=op.f('uq_episode_cohosts_episode_id'))
    )
    with op.batch_alter_table('episode_cohosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_cohosts_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_cohosts_org_id'), ['org_id'], unique=False)

    op.create_table('episode_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_episode_comments_episode_id_episodes')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_episode_comments_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_episode_comments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode_comments'))
    )
    with op.batch_alter_table('episode_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_comments_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_comments_org_id'), ['org_id'], unique=False)

    op.create_table('episode_renders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('episode_version', sa.Integer(), nullable=True),
    sa.Column('audience', sa.String(length=20), nullable=True),
    sa.Column('duration', sa.Double(), nullable=True),
    sa.Column('lufs', sa.Double(), nullable=True),
    sa.Column('true_peak', sa.Double(), nullable=True),
    sa.Column('mp3_sha256', sa.String(length=64), nullable=True),
    sa.Column('mp3_size', sa.Integer(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('deleted_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_episode_renders_episode_id_episodes')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_episode_renders_job_id_jobs')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_episode_renders_org_id_organisations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_episode_renders_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode_renders'))
    )
    with op.batch_alter_table('episode_renders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_renders_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_renders_org_id'), ['org_id'], unique=False)

    op.create_table('episode_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('music_id', sa.Integer(), nullable=True),
    sa.Column('entry_revision', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('edits', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('problem', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_episode_segments_entry_id_entries')),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_episode_segments_episode_id_episodes')),
    sa.ForeignKeyConstraint(['music_id'], ['music_tracks.id'], name=op.f('fk_episode_segments_music_id_music_tracks')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_episode_segments_org_id_organisations')),
    sa.ForeignKeyConstraint(['recording_id'], ['cohost_recordings.id'], name=op.f('fk_episode_segments_recording_id_cohost_recordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode_segments'))
    )
    with op.batch_alter_table('episode_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_segments_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_segments_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_segments_org_id'), ['org_id'], unique=False)

    op.create_table('segment_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('edits', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_segment_edits_org_id_organisations')),
    sa.ForeignKeyConstraint(['segment_id'], ['episode_segments.id'], name=op.f('fk_segment_edits_segment_id_episode_segments')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_segment_edits_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_edits'))
    )
    with op.batch_alter_table('segment_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_edits_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_segment_edits_segment_id'), ['segment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('segment_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_edits_segment_id'))
        batch_op.drop_index(batch_op.f('ix_segment_edits_org_id'))

    op.drop_table('segment_edits')
    with op.batch_alter_table('episode_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_segments_org_id'))
        batch_op.drop_index(batch_op.f('ix_episode_segments_episode_id'))
        batch_op.drop_index(batch_op.f('ix_episode_segments_entry_id'))

    op.drop_table('episode_segments')
    with op.batch_alter_table('episode_renders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_renders_org_id'))
        batch_op.drop_index(batch_op.f('ix_episode_renders_episode_id'))

    op.drop_table('episode_renders')
    with op.batch_alter_table('episode_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_comments_org_id'))
        batch_op.drop_index(batch_op.f('ix_episode_comments_episode_id'))

    op.drop_table('episode_comments')
    with op.batch_alter_table('episode_cohosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_cohosts_org_id'))
        batch_op.drop_index(batch_op.f('ix_episode_cohosts_episode_id'))

    op.drop_table('episode_cohosts')
    with op.batch_alter_table('cohost_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohost_recordings_org_id'))
        batch_op.drop_index(batch_op.f('ix_cohost_recordings_episode_id'))

    op.drop_table('cohost_recordings')
    with op.batch_alter_table('music_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_music_tracks_org_id'))

    op.drop_table('music_tracks')
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episodes_org_id'))

    op.drop_table('episodes')
