"""Consents, their history, the event and mail outboxes, processed organisation events, removed
contacts, seen suspensions and grant idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from svckit.event_outbox import Position, event_outbox_table
from svckit.mail_outbox import mail_outbox_table
from svckit.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(36), primary_key=True),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("pe_registration_number", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("end_time", UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("recipient_email", sa.String(320), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("contact_name", sa.String(300), nullable=False),
        sa.Column("organisation_name", sa.String(300), nullable=False),
        sa.Column("reminder_sent_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_consents_access", "consents", ["contact_id", "professional_id", "state"])
    op.create_index("ix_consents_professional", "consents", ["professional_id", "valid_from", "consent_id"])
    op.create_index("ix_consents_contact", "consents", ["contact_id", "state", "valid_from", "consent_id"])
    op.create_index("ix_consents_organisation", "consents", ["organisation_id", "state", "valid_from", "consent_id"])
    op.create_index("ix_consents_expiry", "consents", ["state", "valid_until"])
    op.create_index("ix_consents_reminder", "consents", ["state", "end_date"])
    op.create_index("ux_consents_one_active", "consents", ["professional_id", "contact_id"], unique=True,
                    sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))

    op.create_table(
        "consent_changes",
        sa.Column("change_id", Position, primary_key=True, autoincrement=True),
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False),
    )
    op.create_index("ix_consent_changes_consent_id", "consent_changes", ["consent_id"])
    op.create_index("ix_consent_changes_professional", "consent_changes", ["professional_id", "change_id"])

    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "removed_contacts",
        sa.Column("contact_id", sa.String(36), primary_key=True),
        sa.Column("removed_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "organisation_suspensions",
        sa.Column("organisation_id", sa.String(36), primary_key=True),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "grant_requests",
        sa.Column("professional_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("consent_ids", sa.Text, nullable=False),
        sa.Column("log_position", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    # The outboxes as svckit defines them (columns, indexes, the log position's autoincrement).
    outboxes = sa.MetaData()
    mail_outbox_table(outboxes)
    event_outbox_table(outboxes)
    outboxes.create_all(op.get_bind())


def downgrade() -> None:
    for table in ("event_outbox", "mail_outbox", "grant_requests", "organisation_suspensions", "removed_contacts", "processed_events",
                  "consent_changes", "consents"):
        op.drop_table(table)
