"""Smoke test of the benchmark harness: `python -m bench grpc_health --quick` runs and writes its figures.

It asserts that figures exist, never what they are: timings belong to the benchmark's report.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
