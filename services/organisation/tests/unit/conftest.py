"""Unit fixtures: a fake identity (AccountDirectory), a manual clock, an SQLite file, no network."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from organisation import repository
from organisation.handlers import AccountDirectoryError, Deps, EmailOwnedByHolder, UsernameTaken
from organisation.mails import MailComposer


@dataclass
class FakeAccount:
    account_id: str
    username: str
    email: str
    display_name: str
    language: str
    idempotency_key: str
    deleted: bool = False
    disabled: bool = False
    password_set: bool = False


@dataclass
class FakeAccounts:
    """identity as the handlers see it, with failures to order.

    Like identity: usernames are unique without regard to case; a repeated idempotency key
    answers the first account, unless that account was deleted (which frees key and username).
    """
    accounts: dict[str, FakeAccount] = field(default_factory=dict)
    links: list[tuple] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    before_create: list = field(default_factory=list)  # callables run inside the next create

    def fail(self, method: str, times: int = 1, error: Exception | None = None) -> None:
        self.failures.setdefault(method, []).extend([error or AccountDirectoryError("identity is down")] * times)

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if self.failures.get(method):
            raise self.failures[method].pop(0)

    def live(self) -> list[FakeAccount]:
        return [account for account in self.accounts.values() if not account.deleted]

    def create_account(self, account, *, idempotency_key: str) -> str:
        self._call("create_account")
        for known in self.live():
            if known.idempotency_key == idempotency_key:
                return known.account_id
        if any(known.username.lower() == account.username.lower() for known in self.live()):
            raise UsernameTaken(account.username)
        while self.before_create:
            self.before_create.pop(0)()
        made = FakeAccount(str(uuid.uuid4()), account.username, account.email, account.display_name,
                           account.language.value, idempotency_key)
        self.accounts[made.account_id] = made
        return made.account_id

    def delete_account(self, account_id: str) -> None:
        self._call("delete_account")
        if account_id in self.accounts:
            self.accounts[account_id].deleted = True

    def issue_setup_link(self, account_id, purpose, mail_context) -> None:
        self._call("issue_setup_link")
        self.links.append((account_id, purpose, dict(mail_context)))

    def update_profile(self, account_id, *, email, display_name) -> bool:
        self._call("update_profile")
        account = self.accounts[account_id]
        if account.password_set and email != account.email:
            raise EmailOwnedByHolder(account.email)
        account.email, account.display_name = email, display_name
        return not account.password_set

    def awaits_password(self, account_id) -> bool:
        self._call("awaits_password")
        return not self.accounts[account_id].password_set

    def disable_account(self, account_id, *, actor_account_id, reason) -> None:
        self._call("disable_account")
        self.accounts[account_id].disabled = True


@pytest.fixture
def accounts() -> FakeAccounts:
    return FakeAccounts()


@pytest.fixture
def engine(migrated, tmp_path):
    return migrated(f"sqlite:///{tmp_path / 'organisation.db'}")


@pytest.fixture
def woken() -> list:
    return []


@pytest.fixture
def deps(engine, accounts, clock, woken) -> Deps:
    return Deps(uow=lambda: repository.SqlUnitOfWork(engine), accounts=accounts, clock=clock,
                mails=MailComposer("https://pe-insight.example"), events_committed=lambda: woken.append(1))
