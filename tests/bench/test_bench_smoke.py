"""Smoke tests of the benchmarks: `python -m bench NAME --quick` runs and writes its figures.

It asserts that figures exist, never what they are: timings belong to the benchmark's report.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULT = REPO_ROOT / "var" / "bench" / "grpc_health.json"


def test_grpc_health_quick_runs_and_writes_its_figures():
    RESULT.unlink(missing_ok=True)

    done = subprocess.run([sys.executable, "-m", "bench", "grpc_health", "--quick"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    result = json.loads(RESULT.read_text())
    assert result["name"] == "grpc_health"
    assert result["quick"] is True
    for side in ("svckit", "bare"):
        assert result["sides"][side]["p50_us"] > 0, side
    assert result["ratio"]["figure"] == "p50_us"
    assert result["ratio"]["value"] > 0
    assert result["ratios"]["p50_us"] == result["ratio"]["value"]
    assert {"cpu_count", "python", "platform"} <= result["machine"].keys()
    assert result["when"].endswith("Z")


def _run_quick(name: str) -> dict:
    result = REPO_ROOT / "var" / "bench" / f"{name}.json"
    result.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "bench", name, "--quick"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(result.read_text())


def test_consent_access_quick_runs_and_writes_its_figures():
    result = _run_quick("consent_access")

    assert result["name"] == "consent_access"
    assert result["quick"] is True
    for side in ("consent", "echo"):
        assert result["sides"][side]["p50_us"] > 0, side
        assert result["sides"][side]["calls_per_s"] > 0, side
    assert result["ratio"]["figure"] == "p50_us"
    assert result["ratios"]["p50_us"] == result["ratio"]["value"]
    assert result["target"]["figure"] == "p50_us" and result["met"] in (True, False)
    assert "sqlite" in result["details"]["scaling"]
    for kind, by_size in result["details"]["scaling"].items():
        assert set(by_size) == {str(size) for size in result["parameters"]["sizes"]}, kind
    if "postgresql" in result["details"]["scaling"]:  # what PostgreSQL wrote in the background, per size
        written = result["details"]["background_writes"]["postgresql"]
        assert set(written) == {str(size) for size in result["parameters"]["sizes"]}
        assert all(isinstance(pages, int) and pages >= 0 for pages in written.values()), written
        assert result["details"]["cpu_per_call_us"]["postgresql"]["database_us"] >= 0
        placement = result["details"]["postgres_placement"]
        assert placement.keys() in ({"not pinned", "with the client", "with the servers"},
                                    {"not pinned", "not measured"}), placement
    for kind in result["details"]["scaling"]:  # CPU time per call of each server process
        spent = result["details"]["cpu_per_call_us"][kind]
        assert spent["consent_us"] > 0 and spent["echo_us"] > 0, (kind, spent)
        assert spent["consent_over_echo"] == pytest.approx(spent["consent_us"] / spent["echo_us"], rel=1e-3)


def test_consent_events_quick_runs_and_writes_its_figures(amqp_url):
    result = _run_quick("consent_events")

    assert result["name"] == "consent_events"
    assert result["quick"] is True
    for side in ("outbox", "pika"):
        assert result["sides"][side]["p50_ms"] > 0, side
        assert result["sides"][side]["sent_per_s"] > 0, side
    assert result["ratio"]["figure"] == "p50_ms"
    assert result["ratios"]["p50_ms"] == result["ratio"]["value"]
    assert result["target"] is None
    assert all(lost == 0 for lost in result["details"]["lost"].values()), result["details"]["lost"]
    for kind, spent in result["details"]["cpu_ms_per_message"].items():
        assert spent["outbox"] > 0 and spent["pika"] > 0, (kind, spent)


def test_gateway_security_quick_runs_and_writes_its_figures(amqp_url):
    result = _run_quick("gateway_security")

    assert result["name"] == "gateway_security"
    assert result["quick"] is True
    for side in ("secured", "bare"):
        for figure in ("logins_per_s", "reads_per_s", "read_p50_us", "uncached_read_p50_us"):
            assert result["sides"][side][figure] > 0, (side, figure)
    assert result["ratio"]["figure"] == "read_p50_us"
    assert result["ratios"]["read_p50_us"] == result["ratio"]["value"]
    targets = result["details"]["targets"]
    assert set(targets) == {"logins_per_s", "read_p50_us", "reads_per_s", "worst_case_read_p50_us",
                            "worst_case_reads_per_s"}
    assert all(target["met"] in (True, False) for target in targets.values()), targets
    asked = result["details"]["session_checks_per_read"]
    # the gateway that keeps no answer asks identity on every read; the bare one never asks
    assert asked["secured, every read asks identity"] == 1.0 and asked["bare"] == 0.0
    assert result["details"]["placement"].startswith("not pinned")
