"""Organisations, their contacts and status transitions, idempotent requests, mail and event outboxes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("chamber_of_commerce_number", sa.String(8), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(7), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("city_key", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_organisations"),
        sa.UniqueConstraint("chamber_of_commerce_number", name="uq_organisations_chamber_of_commerce_number"),
        sa.CheckConstraint("status IN ('pending', 'authorised', 'rejected', 'suspended')",
                           name="ck_organisations_status"),
    )
    op.create_index("ix_organisations_city_key", "organisations", ["city_key"])
    op.create_index("ix_organisations_status", "organisations", ["status"])
    op.create_index("ix_organisations_name_key_organisation_id", "organisations", ["name_key", "organisation_id"])

    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("department_name", sa.String(100), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
        _instant("removed_at", nullable=True),
        sa.Column("removed_by", sa.String(64), nullable=True),
        _instant("link_issued_at", nullable=True),
        _instant("account_disabled_at", nullable=True),
        sa.Column("follow_up", sa.String(10), nullable=True),
        sa.Column("follow_up_attempts", sa.Integer(), nullable=False),
        _instant("claimed_until", nullable=True),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contacts"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.organisation_id"],
                                name="fk_contacts_organisation_id_organisations"),
        sa.CheckConstraint("role IN ('administrator', 'second_contact', 'contact', 'department')",
                           name="ck_contacts_role"),
        sa.CheckConstraint("language IN ('nl', 'en')", name="ck_contacts_language"),
        sa.CheckConstraint("follow_up IS NULL OR follow_up IN ('link', 'disable')", name="ck_contacts_follow_up"),
    )
    op.create_index("ix_contacts_account_id", "contacts", ["account_id"])
    op.create_index("ix_contacts_follow_up", "contacts", ["follow_up"])
    op.create_index("ix_contacts_organisation_id_created_at_contact_id", "contacts",
                    ["organisation_id", "created_at", "contact_id"])
    one_second_contact = sa.text("role = 'second_contact' AND removed_at IS NULL")
    op.create_index("uq_contacts_one_second_contact", "contacts", ["organisation_id"], unique=True,
                    sqlite_where=one_second_contact, postgresql_where=one_second_contact)
    one_administrator = sa.text("role = 'administrator'")
    op.create_index("uq_contacts_one_administrator", "contacts", ["organisation_id"], unique=True,
                    sqlite_where=one_administrator, postgresql_where=one_administrator)

    op.create_table(
        "organisation_transitions",
        sa.Column("position", Position, nullable=False, autoincrement=True),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor_account_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _instant("occurred_at"),
        sa.PrimaryKeyConstraint("position", name="pk_organisation_transitions"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.organisation_id"],
                                name="fk_organisation_transitions_organisation_id_organisations"),
    )
    op.create_index("ix_organisation_transitions_organisation_id", "organisation_transitions", ["organisation_id"])

    op.create_table(
        "idempotent_requests",
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("identity_key", sa.String(36), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        _instant("claimed_until", nullable=True),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("contact_id", sa.String(36), nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("scope", "request_key", name="pk_idempotent_requests"),
        sa.CheckConstraint("state IN ('started', 'completed')", name="ck_idempotent_requests_state"),
    )

    # svckit.mail_outbox.mail_outbox_table, as of this revision.
    op.create_table(
        "mail_outbox",
        sa.Column("mail_id", sa.String(36), nullable=False),
        _instant("created_at"),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        _instant("sent_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at"),
        _instant("claimed_until", nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("mail_id", name="pk_mail_outbox"),
    )
    op.create_index("ix_mail_outbox_sent_at", "mail_outbox", ["sent_at"])

    # svckit.event_outbox.event_outbox_table, as of this revision.
    op.create_table(
        "event_outbox",
        sa.Column("position", Position, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("routing_key", sa.String(120), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _instant("occurred_at"),
        _instant("published_at", nullable=True),
        _instant("claimed_until", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_event_outbox"),
        sa.UniqueConstraint("event_id", name="uq_event_outbox_event_id"),
    )
    op.create_index("ix_event_outbox_published_at", "event_outbox", ["published_at"])


def downgrade() -> None:
    op.drop_table("event_outbox")
    op.drop_table("mail_outbox")
    op.drop_table("idempotent_requests")
    op.drop_table("organisation_transitions")
    op.drop_table("contacts")
    op.drop_table("organisations")
