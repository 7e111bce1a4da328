"""The access check's index holds every column the check reads, for active consents only.

The check then reads one index and never the table: one B-tree descent instead of two, which
is what it costs once the table outgrows the caches (a million consents, many columns each).
The state is among the columns because SQLite counts an index as covering only when it holds
every column the statement names, the partial index's own condition included.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.drop_index("ix_consents_access", table_name="consents")
    op.create_index("ix_consents_access", "consents",
                    ["contact_id", "professional_id", "state", "valid_until", "consent_id", "pe_registration_number",
                     "organisation_id", "valid_from", "end_date", "sequence"],
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index("ix_consents_access", table_name="consents")
    op.create_index("ix_consents_access", "consents", ["contact_id", "professional_id", "state"])
