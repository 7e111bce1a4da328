"""`python -m identity create-operator` makes the first operator and queues its mail, then exits."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from identity.repository import accounts, mail_outbox

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]


def run(url, tmp_path, *args):
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "identity", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_create_operator(databases, tmp_path):
    url = databases.new("identity")
    args = ["create-operator", "--username", "seu-beheer", "--email", "beheer@seu.example", "--name", "SEU Beheer",
            "--language", "en"]
    result = run(url, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("operator seu-beheer created (")
    assert "beheer@seu.example" not in result.stdout and "token" not in result.stdout + result.stderr
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(select(accounts)).one()
        mail = connection.execute(select(mail_outbox)).one()
    engine.dispose()
    assert (row.kind, row.status, row.language) == ("operator", "awaiting_password", "en")
    assert mail.recipient == "beheer@seu.example" and "operator account" in mail.text_body

    again = run(url, tmp_path, *args)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "identity: cannot create the operator: username: is taken; choose another username"]


def test_create_operator_with_bad_input_says_what_is_wrong(databases, tmp_path):
    result = run(databases.new("identity"), tmp_path, "create-operator", "--username", "x", "--email", "nope",
                 "--name", "N")
    assert result.returncode == 1
    assert "username: must be 3 to 64 characters" in result.stderr and "email: " in result.stderr
