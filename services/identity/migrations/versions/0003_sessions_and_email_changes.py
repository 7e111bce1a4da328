"""Sessions that tokens name, e-mail changes confirmed by the new address, account events for other
services; logins slowed down instead of locked.

Every refresh-token family becomes a session of the same id, ended when the family was revoked.
Login locks go: a stranger could use them to keep the owner out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Sequence_ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as accounts:
        accounts.add_column(_at("password_changed_at", nullable=True))

    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
                  nullable=False),
        _at("created_at"), _at("expires_at"), _at("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(30), nullable=True),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.execute(
        "INSERT INTO sessions (session_id, account_id, created_at, expires_at, ended_at, end_reason) "
        "SELECT family_id, MIN(account_id), MIN(created_at), MAX(expires_at), MAX(revoked_at), "
        "CASE WHEN MAX(revoked_at) IS NULL THEN NULL ELSE 'revoked' END "
        "FROM refresh_tokens GROUP BY family_id")

    op.create_table(
        "email_changes",
        sa.Column("change_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("new_email", sa.String(320), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _at("created_at"), _at("expires_at"), _at("confirmed_at", nullable=True), _at("voided_at", nullable=True),
    )
    op.create_index("ux_email_changes_token_hash", "email_changes", ["token_hash"], unique=True)
    op.create_index("ix_email_changes_account_id", "email_changes", ["account_id"])

    # svckit.event_outbox.event_outbox_table, as of this revision.
    op.create_table(
        "event_outbox",
        sa.Column("position", Sequence_, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("routing_key", sa.String(120), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _at("occurred_at"), _at("published_at", nullable=True), _at("claimed_until", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_event_outbox_published_at", "event_outbox", ["published_at"])

    op.drop_table("login_locks")


def downgrade() -> None:
    op.create_table(
        "login_locks",
        sa.Column("lock_id", Sequence_, primary_key=True, autoincrement=True),
        sa.Column("username_lower", sa.String(64), nullable=False),
        _at("locked_at"), _at("locked_until"),
    )
    op.create_index("ix_login_locks_username_lower_locked_until", "login_locks",
                    ["username_lower", "locked_until"])
    op.drop_table("event_outbox")
    op.drop_table("email_changes")
    op.drop_table("sessions")
    with op.batch_alter_table("accounts") as accounts:
        accounts.drop_column("password_changed_at")
