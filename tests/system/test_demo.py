"""`make demo` fills a running stack through its real APIs and prints who can log in."""
import subprocess
import sys

import pytest
import requests

from support.api import Api
from support.stack import ROOT

pytestmark = pytest.mark.system

PASSWORD = "Demo wachtwoord 2026!"


def test_demo_fills_the_stack_and_its_logins_work(stack):
    env = {**stack.base_env(), "IDENTITY_DATABASE_URL": stack.database_urls["identity"],
           "REPORTING_DATABASE_URL": stack.database_urls["reporting"]}
    result = subprocess.run([sys.executable, "deploy/local/demo.py", "--gateway", stack.gateway_url,
                             "--mail-dir", str(stack.folder / "mail"), "--professionals", "12", "--seed", "7"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert PASSWORD in result.stdout
    # Where to go: the web pages where make run serves them, else the API's documentation.
    address = next(line.split()[1] for line in lines if line.startswith("Open http"))
    if "/api/docs" in address:
        assert address == f"{stack.gateway_url}/api/docs" and requests.get(address, timeout=10).status_code == 200
    else:
        assert address == "http://127.0.0.1:8000/"
    logins = {line.split()[0]: " ".join(line.split()[1:]) for line in lines if line.startswith("  ") and
              not line.strip().startswith("...")}
    roles = set(logins.values())
    assert "operator" in roles and "professional" in roles
    assert any(role.startswith("administrator of") for role in roles)
    assert any(role.startswith("second contact of") for role in roles)
    assert any(role.startswith("department of") for role in roles)

    api = Api(stack.gateway_url)
    administrator = next(user for user, role in logins.items() if role == "administrator of Uitzendbureau De Brug")
    session = api.post("/sessions", json={"username": administrator, "password": PASSWORD}).json()
    manager = Api(stack.gateway_url, session["access_token"])
    organisation_id = manager.get("/me").json()["memberships"][0]["organisation_id"]
    report = manager.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "json"})
    assert report.status_code == 200
    assert report.json()["professionals"], "the demo should leave consenting professionals in the report"
    assert all(row["period_start"] for row in report.json()["professionals"])  # their PE histories arrived

    operator = next(user for user, role in logins.items() if role == "operator")
    token = api.post("/sessions", json={"username": operator, "password": PASSWORD}).json()["access_token"]
    pending = Api(stack.gateway_url, token).get("/organisations", params={"status": "pending"}).json()
    assert "Detachering Zuidwest" in [o["name"] for o in pending["organisations"]]
