"""topics: merged_into_id (where a merged topic's address leads) and is_unlisted

Revision ID: 5a6dab41f215
Revises: b9dc54696c08
Create Date: 2026-12-01 07:03:12.100195

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a6dab41f215'
down_revision = 'b9dc54696c08'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both databases: a batch "move and copy" on SQLite would drop the search triggers.
    op.add_column('topics', sa.Column('merged_into_id', sa.Integer(), nullable=True))
    op.add_column('topics', sa.Column('is_unlisted', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('topics', 'is_unlisted')
    op.drop_column('topics', 'merged_into_id')
