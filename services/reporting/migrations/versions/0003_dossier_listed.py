"""The access log also records a professional shown in a contact's list of dossiers ('dossier_listed').

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NAME = "ck_access_log_kind"


def _replace_check(allowed: str) -> None:
    # SQLite cannot change a CHECK constraint in place, so batch mode copies the table there;
    # PostgreSQL changes it in place, without copying the log.
    with op.batch_alter_table("access_log") as batch:
        batch.drop_constraint(_NAME, type_="check")
        batch.create_check_constraint(_NAME, f"kind IN ({allowed})")


def upgrade() -> None:
    _replace_check("'dossier_read', 'dossier_listed', 'report_inclusion'")


def downgrade() -> None:
    op.execute("DELETE FROM access_log WHERE kind = 'dossier_listed'")
    _replace_check("'dossier_read', 'report_inclusion'")
