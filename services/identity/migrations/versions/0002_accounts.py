"""Accounts, password-setup links and their requests, refresh tokens, audit events, login limits, mail outbox.

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

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Sequence_ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("username_lower", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_lower", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("pe_registration_number", sa.String(32), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        _at("created_at"), _at("updated_at"), _at("last_login_at", nullable=True),
    )
    op.create_index("ux_accounts_username_lower", "accounts", ["username_lower"], unique=True)
    op.create_index("ux_accounts_pe_registration_number", "accounts", ["pe_registration_number"], unique=True)
    op.create_index("ux_accounts_idempotency_key", "accounts", ["idempotency_key"], unique=True)
    op.create_index("ix_accounts_email_lower", "accounts", ["email_lower"])

    op.create_table(
        "password_links",
        sa.Column("link_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        _at("created_at"), _at("expires_at"), _at("used_at", nullable=True), _at("voided_at", nullable=True),
        sa.Column("mail_id", sa.String(36), nullable=True),
    )
    op.create_index("ux_password_links_token_hash", "password_links", ["token_hash"], unique=True)
    op.create_index("ix_password_links_account_id", "password_links", ["account_id"])

    op.create_table(
        "link_requests",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("username_or_email", sa.String(320), nullable=True),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("mail_context", sa.Text, nullable=False),
        _at("requested_at"), _at("claimed_until", nullable=True),
    )
    op.create_index("ix_link_requests_requested_at", "link_requests", ["requested_at"])

    op.create_table(
        "refresh_tokens",
        sa.Column("token_id", sa.String(36), primary_key=True),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _at("created_at"), _at("expires_at"), _at("used_at", nullable=True), _at("revoked_at", nullable=True),
    )
    op.create_index("ux_refresh_tokens_token_hash", "refresh_tokens", ["token_hash"], unique=True)
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"])

    op.create_table(
        "account_events",
        sa.Column("seq", Sequence_, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        _at("occurred_at"),
        sa.Column("client_address", sa.String(100), nullable=True),
        sa.Column("actor_account_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.String(500), nullable=True),
    )
    op.create_index("ux_account_events_event_id", "account_events", ["event_id"], unique=True)
    op.create_index("ix_account_events_account_id_seq", "account_events", ["account_id", "seq"])

    op.create_table(
        "login_failures",
        sa.Column("failure_id", Sequence_, primary_key=True, autoincrement=True),
        sa.Column("username_lower", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(100), nullable=True),
        _at("occurred_at"),
    )
    op.create_index("ix_login_failures_username_lower_occurred_at", "login_failures",
                    ["username_lower", "occurred_at"])
    op.create_index("ix_login_failures_client_address_occurred_at", "login_failures",
                    ["client_address", "occurred_at"])

    op.create_table(
        "login_locks",
        sa.Column("lock_id", Sequence_, primary_key=True, autoincrement=True),
        sa.Column("username_lower", sa.String(64), nullable=False),
        _at("locked_at"), _at("locked_until"),
    )
    op.create_index("ix_login_locks_username_lower_locked_until", "login_locks",
                    ["username_lower", "locked_until"])

    # svckit.mail_outbox.mail_outbox_table, as it is at this revision.
    op.create_table(
        "mail_outbox",
        sa.Column("mail_id", sa.String(36), primary_key=True),
        _at("created_at"),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text_body", sa.Text, nullable=False),
        sa.Column("html_body", sa.Text, nullable=False),
        _at("sent_at", nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        _at("next_attempt_at"),
        _at("claimed_until", nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_mail_outbox_sent_at", "mail_outbox", ["sent_at"])


def downgrade() -> None:
    for table in ("mail_outbox", "login_locks", "login_failures", "account_events", "refresh_tokens",
                  "link_requests", "password_links", "accounts"):
        op.drop_table(table)
