"""The benchmark harness: a registry of named benchmarks, timing and percentile helpers,
and the table and JSON each run leaves behind.

A benchmark is a function `fn(quick: bool) -> Comparison` registered with `@benchmark(name)`.
It measures pe-insight (the subject) and its anchor side by side in the same run; the
harness works out the ratios subject / anchor, prints them and writes
var/bench/<name>.json. A missed target is reported, never turned into a failure: the
process exits non-zero only when a benchmark raises.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import json
import math
import os
import pkgutil
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "var" / "bench"
_NOT_BENCHMARKS = {"harness"}


# --- what a benchmark hands back -------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One side of a comparison: its name and its figures, e.g. {"p50_us": 180.0}.

    A figure's unit is the suffix of its key: _us, _ms, _s, _per_s, _bytes...
    """
    name: str
    figures: dict[str, float]


@dataclass(frozen=True)
class Target:
    """What a ratio (subject / anchor) is judged against, e.g. Target("p50_us", "<=", 1.5)."""
    figure: str
    op: str
    value: float
    why: str = ""

    def __post_init__(self):
        if self.op not in ("<=", ">="):
            raise ValueError(f"target op must be '<=' or '>=', not {self.op!r}")

    def met(self, ratios: dict[str, float]) -> bool | None:
        ratio = ratios.get(self.figure)
        if ratio is None:
            return None
        return ratio <= self.value if self.op == "<=" else ratio >= self.value

    def as_dict(self) -> dict:
        return {"figure": self.figure, "of": "ratio", "op": self.op, "value": self.value, "why": self.why}


@dataclass
class Comparison:
    """pe-insight (subject) against its anchor, measured in the same run.

    `headline` names the figure whose ratio is the one to report.
    """
    subject: Side
    anchor: Side
    headline: str
    parameters: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    target: Target | None = None

    def ratios(self) -> dict[str, float]:
        """subject / anchor for every figure both sides have (and the anchor's is not zero)."""
        out = {}
        for key, value in self.subject.figures.items():
            base = self.anchor.figures.get(key)
            if base:
                out[key] = value / base
        return out


# --- the registry -----------------------------------------------------------------------

@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    fn: Callable[[bool], Comparison]


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, description: str = "") -> Callable:
    """Register `fn(quick: bool) -> Comparison` under `name`."""
    def register(fn: Callable[[bool], Comparison]) -> Callable[[bool], Comparison]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"benchmark {name!r} registered twice")
        doc_lines = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Benchmark(name, description or (doc_lines[0] if doc_lines else ""), fn)
        return fn
    return register


def registered() -> dict[str, Benchmark]:
    return dict(_REGISTRY)


def discover() -> dict[str, Benchmark]:
    """Import every module of the bench package (but the harness and _private ones) so they register."""
    package = importlib.import_module(__package__ or "bench")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_") or module.name in _NOT_BENCHMARKS:
            continue
        importlib.import_module(f"{package.__name__}.{module.name}")
    return registered()


# --- timing and statistics --------------------------------------------------------------

@dataclass(frozen=True)
class Samples:
    """Latencies of N calls (seconds, one per call) and the wall time they took, loop included."""
    latencies: list[float]
    wall_s: float

    @property
    def calls(self) -> int:
        return len(self.latencies)

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.wall_s if self.wall_s > 0 else math.nan

    @staticmethod
    def merge(parts: Iterable[Samples]) -> Samples:
        parts = list(parts)
        return Samples([x for p in parts for x in p.latencies], sum(p.wall_s for p in parts))


def warm_up(fn: Callable[[], object], n: int) -> None:
    for _ in range(n):
        fn()


def run_timed(fn: Callable[[], object], n: int, warmup: int = 0, collect_first: bool = True) -> Samples:
    """Call fn() `warmup` times unmeasured, then n times measured; return each call's latency.

    A garbage collection runs before the measured calls so that one side does not inherit
    the other's garbage; the collector stays on while measuring, as it is in a service.
    """
    warm_up(fn, warmup)
    if collect_first:
        gc.collect()
    clock = time.perf_counter_ns
    ns = [0] * n
    started = clock()
    for i in range(n):
        t0 = clock()
        fn()
        ns[i] = clock() - t0
    wall = clock() - started
    return Samples([x / 1e9 for x in ns], wall / 1e9)


def percentile(values: Sequence[float], p: float, *, presorted: bool = False) -> float:
    """The p-th percentile (0..100), interpolating linearly between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} not in 0..100")
    ordered = values if presorted else sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(values: Sequence[float], ps: Iterable[float] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} of values, in their own unit."""
    ordered = sorted(values)
    return {f"p{p:g}": percentile(ordered, p, presorted=True) for p in ps}


def latency_figures(samples: Samples) -> dict[str, float]:
    """p50, p95, p99 and mean in microseconds, and calls per second, of a run of calls."""
    micro = [x * 1e6 for x in samples.latencies]
    figures = {f"{k}_us": v for k, v in percentiles(micro).items()}
    figures["mean_us"] = sum(micro) / len(micro)
    figures["calls_per_s"] = samples.calls_per_s
    return figures


def proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 of proc(5) first), which
    may itself hold spaces and parentheses; OSError when the process is gone or there is no /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pids: Iterable[int]) -> float | None:
    """CPU time (user and system) the processes have used so far (None where one is gone, or
    there is no /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = proc_stat(pid)
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime
    return total


# --- reporting --------------------------------------------------------------------------

def _affinity() -> list[int] | None:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


_USABLE_CPUS = _affinity()  # before any pinning
_pinned_cpu: int | None = None


def pin_to_cpu(cpu: int | None = None) -> int | None:
    """Pin the calling thread, and so every thread started after, to one CPU (default: the last usable).

    Called before any benchmark module is imported, so that gRPC's threads, the servers' and
    the client alike, all land on it. On a small machine a client and a server whose threads
    wake each other across CPUs flip between a fast and a slow mode that has nothing to do
    with the code under test; on one CPU they do not. Returns the CPU, or None where the
    platform cannot pin.
    """
    global _pinned_cpu
    if _USABLE_CPUS is None or not hasattr(os, "sched_setaffinity"):
        return None
    chosen = _USABLE_CPUS[-1] if cpu is None else cpu
    if chosen not in _USABLE_CPUS:
        raise ValueError(f"CPU {chosen} is not usable here; usable: {_USABLE_CPUS}")
    os.sched_setaffinity(0, {chosen})
    _pinned_cpu = chosen
    return chosen


def usable_cpus() -> list[int] | None:
    """The CPUs this process could use before the harness pinned it (None where unknown)."""
    return list(_USABLE_CPUS) if _USABLE_CPUS is not None else None


def pinned_cpu() -> int | None:
    """The CPU the harness pinned the run to, or None (not pinned: --no-pin, or cannot pin)."""
    return _pinned_cpu


def machine() -> dict:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(_USABLE_CPUS) if _USABLE_CPUS is not None else None,
        "pinned_cpu": _pinned_cpu,
        "load_average": load,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_result(bench: Benchmark, comparison: Comparison, *, quick: bool, when: str,
                 duration_s: float) -> dict:
    ratios = comparison.ratios()
    target = comparison.target
    return {
        "name": bench.name,
        "description": bench.description,
        "when": when,
        "duration_s": round(duration_s, 3),
        "quick": quick,
        "machine": machine(),
        "parameters": comparison.parameters,
        "subject": comparison.subject.name,
        "anchor": comparison.anchor.name,
        "sides": {comparison.subject.name: comparison.subject.figures,
                  comparison.anchor.name: comparison.anchor.figures},
        "ratios": ratios,
        "ratio": {"figure": comparison.headline, "of": f"{comparison.subject.name}/{comparison.anchor.name}",
                  "value": ratios.get(comparison.headline)},
        "target": target.as_dict() if target else None,
        "met": target.met(ratios) if target else None,
        "details": comparison.details,
        "notes": comparison.notes,
    }


def _label(key: str) -> str:
    if key.endswith("_per_s"):
        return f"{key[:-len('_per_s')]}/s"
    for suffix, unit in (("_us", "us"), ("_ms", "ms"), ("_s", "s"), ("_bytes", "B")):
        if key.endswith(suffix):
            return f"{key[:-len(suffix)]} ({unit})"
    return key


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def format_table(result: dict) -> str:
    subject, anchor = result["subject"], result["anchor"]
    sides, ratios = result["sides"], result["ratios"]
    ratio_head = f"{subject}/{anchor}"
    rows = [(_label(k), _number(v), _number(sides[anchor].get(k)),
             f"{ratios[k]:.3f}" if k in ratios else "-") for k, v in sides[subject].items()]
    head = ("figure", subject, anchor, ratio_head)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join([head[0].ljust(widths[0]), *(h.rjust(w) for h, w in zip(head[1:], widths[1:]))])]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]))
    headline = result["ratio"]
    value = headline["value"]
    lines.append(f"ratio {headline['of']} {_label(headline['figure'])}: "
                 + (f"{value:.3f}" if value is not None else "-"))
    target = result["target"]
    if target is None:
        lines.append("target: none (figure reported only)")
    else:
        verdict = {True: "met", False: "MISSED", None: "not judged (no such ratio)"}[result["met"]]
        lines.append(f"target: ratio {_label(target['figure'])} {target['op']} {target['value']}: {verdict}")
    return "\n".join(lines)


def write_result(result: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['name']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def _clean(value):
    """Floats rounded to 4 decimals; NaN and infinities become null so the JSON stays standard."""
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


# --- the command line -------------------------------------------------------------------

def run_one(bench: Benchmark, *, quick: bool, out_dir: Path) -> dict:
    when = utc_now()
    started = time.perf_counter()
    comparison = bench.fn(quick)
    result = _clean(build_result(bench, comparison, quick=quick, when=when,
                                 duration_s=time.perf_counter() - started))
    print(format_table(result))
    path = write_result(result, out_dir)
    print(f"written: {_relative(path)}")
    return result


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run pe-insight's benchmarks, each against its anchor; figures go to var/bench/.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"directory for the JSON figures (default: {_relative(DEFAULT_OUT)})")
    pinning = parser.add_mutually_exclusive_group()
    pinning.add_argument("--cpu", type=int, metavar="ID",
                         help="pin the run to this CPU (default: the last usable CPU)")
    pinning.add_argument("--no-pin", action="store_true", help="let the scheduler place threads on any CPU")
    args = parser.parse_args(argv)

    # Pin before importing the benchmarks: threads started from here on inherit the affinity.
    if not args.no_pin:
        try:
            pin_to_cpu(args.cpu)
        except ValueError as error:
            parser.error(str(error))
    benches = discover()

    if args.list:
        for name, bench in sorted(benches.items()):
            print(f"{name:20}  {bench.description}")
        return 0
    unknown = [n for n in args.names if n not in benches]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(benches))}")
    names = list(dict.fromkeys(args.names)) or sorted(benches)

    failed = []
    for name in names:
        bench = benches[name]
        pinned = f", pinned to CPU {_pinned_cpu}" if _pinned_cpu is not None else ", not pinned"
        print(f"\n== {name}{' (quick)' if args.quick else ''}{pinned}: {bench.description}", flush=True)
        try:
            run_one(bench, quick=args.quick, out_dir=args.out)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        sys.stdout.flush()
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
