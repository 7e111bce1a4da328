"""The read model of consents, PE progress from the registry, the access log and generated reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

from svckit.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATES = "state IN ('active', 'revoked', 'expired', 'ended')"
KINDS = "kind IN ('dossier_read', 'report_inclusion')"


def upgrade() -> None:
    state = op.create_table(
        "read_model_state",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_read_model_state"),
    )
    op.bulk_insert(state, [{"name": "consent_read_model", "value": 0}, {"name": "progress", "value": 0},
                           {"name": "consent_applied_through", "value": 0}])

    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("pe_registration_number", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(STATES, name="ck_consents_state"),
        sa.PrimaryKeyConstraint("consent_id", name="pk_consents"),
    )
    op.create_index("ix_consents_organisation_id_state_end_date", "consents",
                    ["organisation_id", "state", "end_date"])
    op.create_index("ix_consents_contact_id_state_professional_id", "consents",
                    ["contact_id", "state", "professional_id"])
    op.create_index("ix_consents_professional_id", "consents", ["professional_id"])

    op.create_table(
        "processed_events",
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "event_id", name="pk_processed_events"),
    )
    op.create_table(
        "pending_positions",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_pending_positions"),
    )
    op.create_table(
        "progress",
        sa.Column("pe_registration_number", sa.String(64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("points_required", sa.Float(), nullable=False),
        sa.Column("points_earned", sa.Float(), nullable=False),
        sa.Column("renewal_submitted_date", sa.Date(), nullable=True),
        sa.Column("activities", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pe_registration_number", name="pk_progress"),
    )
    op.create_table(
        "access_log",
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("reader_account_id", sa.String(36), nullable=False),
        sa.Column("reader_contact_id", sa.String(36), nullable=True),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("consent_id", sa.String(36), nullable=True),
        sa.Column("report_id", sa.String(36), nullable=True),
        sa.CheckConstraint(KINDS, name="ck_access_log_kind"),
        sa.PrimaryKeyConstraint("entry_id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_professional_id_occurred_at_entry_id", "access_log",
                    ["professional_id", "occurred_at", "entry_id"])
    op.create_index("ix_access_log_report_id", "access_log", ["report_id"])
    op.create_table(
        "reports",
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("requested_by_account_id", sa.String(36), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("log_position", sa.BigInteger(), nullable=False),
        sa.Column("generated_at", UtcDateTime(), nullable=False),
        sa.Column("professional_count", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_reports"),
    )
    op.create_index("ix_reports_organisation_id_generated_at", "reports", ["organisation_id", "generated_at"])


def downgrade() -> None:
    for table in ("reports", "access_log", "progress", "pending_positions", "processed_events", "consents",
                  "read_model_state"):
        op.drop_table(table)
