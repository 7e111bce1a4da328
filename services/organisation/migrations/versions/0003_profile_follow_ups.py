"""Contacts' follow-ups towards identity also carry a changed name ('profile') or address ('email').

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NAME = "ck_contacts_follow_up"


def _replace_check(allowed: str) -> None:
    # SQLite cannot change a CHECK constraint in place; batch mode copies the table.
    with op.batch_alter_table("contacts", recreate="always") as batch:
        batch.drop_constraint(_NAME, type_="check")
        batch.create_check_constraint(_NAME, f"follow_up IS NULL OR follow_up IN ({allowed})")


def upgrade() -> None:
    _replace_check("'link', 'profile', 'email', 'disable'")


def downgrade() -> None:
    op.execute("UPDATE contacts SET follow_up = NULL WHERE follow_up IN ('profile', 'email')")
    _replace_check("'link', 'disable'")
