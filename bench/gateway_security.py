"""gateway_security: logins and dossier reads through the gateway with mutual TLS on every gRPC
connection and the live session check, against the same stack without them, in the same run.

Two whole stacks run as real processes (SQLite, each its own RabbitMQ vhost), with the same data:
- secured, as shipped: every gRPC connection mutual TLS with per-method peer allow-lists, and the
  gateway asking identity (CheckSession) whether a token's session is still live, keeping a live
  answer for SESSION_CHECK_SECONDS (0.5 s) per worker;
- bare (the anchor): GRPC_TLS=off in every process and CHECK_SESSIONS=0 in the gateway.
A second gateway on the secured stack, with SESSION_CHECK_SECONDS=0, asks identity on every read:
the worst case of the session check, measured beside the other two.

Logins: one account logged in over and over by four clients per core (as `logins` does). Dossier
reads: GET /api/v1/dossiers/{professional_id} by a few dozen contacts, each with a session of its
own, taking turns over a few professionals who granted them consent, several clients at once.
The sides take turns in rounds, the order changed every round, so that drift in the machine falls
on all alike.
"""
from __future__ import annotations

import itertools
import math
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench._gateway_client import connect, password_login, timed
from bench.harness import (REPO_ROOT, Comparison, Samples, Side, Target, benchmark, cpu_seconds, latency_figures,
                           proc_stat, usable_cpus)

sys.path.insert(0, str(REPO_ROOT / "tests"))
from support.api import PASSWORD, add_contact, create_operator, create_professional, log_in, register  # noqa: E402
from support.broker import isolated_vhost  # noqa: E402
from support.mailbox import Mailbox  # noqa: E402
from support.resources import DatabaseFactory, free_port  # noqa: E402
from support.stack import Stack, new_stack  # noqa: E402

# Many short rounds rather than a few long ones: on a shared machine the speed of the whole box
# drifts within minutes, and short turns put the same drift on every side.
FULL = {"contacts": 32, "professionals": 4, "logins": 480, "login_rounds": 4, "reads": 7_200, "read_rounds": 12,
        "warmup_reads": 320}
QUICK = {"contacts": 4, "professionals": 2, "logins": 24, "login_rounds": 2, "reads": 120, "read_rounds": 2,
         "warmup_reads": 16}
READ_CLIENTS = 8
SETUP_THREADS = 4
TARGET = 1.15  # secured at most 15% slower than bare: secured/bare latency, bare/secured rate
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SECURED, UNCACHED, BARE = "secured", "secured, every read asks identity", "bare"
# Every order of the three read sides, each followed by its reverse: in every six rounds each side
# comes first, second and last twice.
READ_ORDERS = [(SECURED, UNCACHED, BARE), (BARE, UNCACHED, SECURED), (SECURED, BARE, UNCACHED),
               (UNCACHED, BARE, SECURED), (UNCACHED, SECURED, BARE), (BARE, SECURED, UNCACHED)]


# --- the stacks and their data -----------------------------------------------------------------------

@dataclass
class World:
    """What the reads and logins need of one stack's data."""
    operator_username: str
    contact_usernames: list[str]
    professional_ids: list[str]


def populate(stack: Stack, contacts: int, professionals: int) -> World:
    """An authorised organisation with `contacts` contacts, and `professionals` professionals who
    each granted every contact access, made through the gateway as people would make them."""
    mailbox = Mailbox(stack.folder / "mail")
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Zorggroep Benchmark")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        people = list(pool.map(lambda _: add_contact(stack, mailbox, admin, organisation_id, "contact"),
                               range(contacts)))
        granting = list(pool.map(lambda n: create_professional(stack, mailbox, operator, name=f"Professional {n}"),
                                 range(professionals)))
    for professional in granting:
        granted = professional.api.post("/consents", json={
            "organisation_id": organisation_id, "contact_ids": [p.contact_id for p in people]})
        assert granted.status_code == 201, granted.text
    return World(operator.username, [p.username for p in people], [p.account_id for p in granting])


def start_uncached_gateway(stack: Stack, folder: Path) -> str:
    """A second gateway on the stack, asking identity on every request (SESSION_CHECK_SECONDS=0);
    answers its URL once it is ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**stack.service_env("gateway"), "GATEWAY_PORT": str(port), "GATEWAY_METRICS_PORT": str(free_port()),
           "PUBLIC_URL": url, "SESSION_CHECK_SECONDS": "0",
           "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus-gateway-uncached")}
    process = stack.start_process("gateway-uncached", ["-m", "gateway"], env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"the second gateway exited with {process.popen.returncode}:\n{process.log()}")
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the second gateway was not ready within 60 s:\n{process.log()[-3000:]}")


def process_tree(pid: int) -> list[int]:
    """The process and its children (a gunicorn master and its workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(proc_stat(entry.name)[1]), []).append(int(entry.name))
            except OSError:  # gone meanwhile
                continue
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def session_checks(stack: Stack) -> float:
    """How many CheckSession calls identity has started so far (its /metrics)."""
    text = requests.get(stack.metrics_url("identity"), timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "grpc_server_started_total" and sample.labels.get("grpc_method") == "CheckSession")


# --- the sides ---------------------------------------------------------------------------------------

class DossierReads:
    """Dossier reads through one gateway: every contact with a session of its own, the reads going
    round the contacts (and, each time round, on to the next professional), `clients` at a time,
    each client on a kept-alive connection of its own. A round goes on where the last one stopped."""

    def __init__(self, name: str, gateway_url: str, tokens: list[str], professional_ids: list[str], clients: int,
                 pids: dict[str, list[int]], stack: Stack):
        self.name, self.stack, self.pids = name, stack, pids
        self._url, self._clients = gateway_url, clients
        self._requests = [(f"/api/v1/dossiers/{professional_id}", {"Authorization": f"Bearer {token}"})
                          for professional_id in professional_ids for token in tokens]
        self._done = 0

    def round(self, count: int) -> Samples:
        positions = itertools.count(self._done)
        end = self._done + count
        # Connected anew each round, before the clock starts: gunicorn closes a connection left idle
        # for two seconds (its keep-alive), as one is while the other sides take their turns.
        connections = [connect(self._url) for _ in range(self._clients)]
        for connection in connections:
            connection.connect()

        def client(connection) -> list[int]:
            mine = []
            while (position := next(positions)) < end:
                path, headers = self._requests[position % len(self._requests)]
                started = time.perf_counter_ns()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                mine.append(time.perf_counter_ns() - started)
                if response.status != 200:
                    raise RuntimeError(f"{self.name}: GET {path} answered {response.status}: {body[:300]!r}")
            return mine

        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(len(connections)) as pool:
                parts = list(pool.map(client, connections))
            wall = time.perf_counter() - started
        finally:
            for connection in connections:
                connection.close()
        self._done = end
        return Samples([ns / 1e9 for part in parts for ns in part], wall)


def login_rounds(logins: dict, sizes: dict, clients: int) -> tuple[dict[str, float], list[dict]]:
    """Logins/s of each side, in turns, the order swapped every round."""
    per_round = sizes["logins"] // sizes["login_rounds"]
    seconds, rounds = {side: 0.0 for side in logins}, []
    for r in range(sizes["login_rounds"]):
        row = {}
        for side in (list(logins) if r % 2 == 0 else list(logins)[::-1]):
            elapsed = timed(logins[side], per_round, clients)
            seconds[side] += elapsed
            row[side] = round(per_round / elapsed, 2)
        row["ratio"] = round(row[SECURED] / row[BARE], 3)
        rounds.append(row)
    return {side: per_round * sizes["login_rounds"] / spent for side, spent in seconds.items()}, rounds


def read_rounds(reads: dict[str, DossierReads], sizes: dict) -> tuple[dict, dict, dict, list[dict]]:
    """Each side's reads in turns; answers the samples by side, identity's CheckSession calls per read
    and each side's CPU per read by process, and the rounds."""
    per_round = sizes["reads"] // sizes["read_rounds"]
    samples = {side: [] for side in reads}
    asked = {side: 0.0 for side in reads}
    cpu = {side: {process: 0.0 for process in reads[side].pids} for side in reads}
    rounds = []
    for r in range(sizes["read_rounds"]):
        row = {}
        for side in READ_ORDERS[r % len(READ_ORDERS)]:
            reader = reads[side]
            checks_before = session_checks(reader.stack)
            cpu_before = {process: cpu_seconds(pids) for process, pids in reader.pids.items()}
            part = reader.round(per_round)
            for process, pids in reader.pids.items():
                after = cpu_seconds(pids)
                known = after is not None and cpu_before[process] is not None  # None: a process went away
                cpu[side][process] += after - cpu_before[process] if known else math.nan
            asked[side] += session_checks(reader.stack) - checks_before
            samples[side].append(part)
            figures = latency_figures(part)
            row[side] = {"p50_us": round(figures["p50_us"]), "reads_per_s": round(figures["calls_per_s"], 1)}
        row["p50_ratio"] = round(row[SECURED]["p50_us"] / row[BARE]["p50_us"], 3)
        row["uncached_p50_ratio"] = round(row[UNCACHED]["p50_us"] / row[BARE]["p50_us"], 3)
        rounds.append(row)
    total = per_round * sizes["read_rounds"]
    asks_per_read = {side: round(asked[side] / total, 3) for side in reads}
    cpu_per_read = {side: {process: spent / total * 1e6 for process, spent in by_process.items()}
                    for side, by_process in cpu.items()}
    for by_process in cpu_per_read.values():
        by_process["all"] = sum(by_process.values())
    return {side: Samples.merge(parts) for side, parts in samples.items()}, asks_per_read, cpu_per_read, rounds


# --- the benchmark -----------------------------------------------------------------------------------

def _unpinned() -> tuple[set[int], str]:
    """Unpinned, as `logins` is: the subject is how a stack's processes share the machine's cores,
    and a login's Argon2id hash wants every core."""
    usable = usable_cpus() or sorted(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(usable))
    return before, (f"not pinned: both stacks, the second gateway and the clients (this process) anywhere on "
                    f"CPUs {usable}; only one side is driven at a time, the other stack idles")


def _stack_pids(stack: Stack, gateway: str = "gateway") -> dict[str, list[int]]:
    pids = {"gateway": process_tree(stack.processes[gateway].popen.pid)}
    for service in ("identity", "organisation", "consent", "reporting"):
        pids[service] = process_tree(stack.processes[service].popen.pid)
    return pids


def _judge(figure: str, secured: float, bare: float, *, rate: bool) -> dict:
    """secured/bare, and the slowdown it means (for a rate bare/secured), judged against TARGET."""
    ratio = secured / bare
    slowdown = 1 / ratio if rate else ratio
    return {"figure": figure, "ratio": round(ratio, 3), "slowdown": round(slowdown, 3), "op": "<=",
            "value": TARGET, "met": slowdown <= TARGET}


def _targets(figures: dict[str, dict[str, float]]) -> dict:
    secured, bare = figures[SECURED], figures[BARE]
    return {
        "logins_per_s": _judge("logins_per_s", secured["logins_per_s"], bare["logins_per_s"], rate=True),
        "read_p50_us": _judge("read_p50_us", secured["read_p50_us"], bare["read_p50_us"], rate=False),
        "reads_per_s": _judge("reads_per_s", secured["reads_per_s"], bare["reads_per_s"], rate=True),
        "worst_case_read_p50_us": _judge("uncached_read_p50_us", secured["uncached_read_p50_us"],
                                         bare["read_p50_us"], rate=False),
        "worst_case_reads_per_s": _judge("uncached_reads_per_s", secured["uncached_reads_per_s"],
                                         bare["reads_per_s"], rate=True),
    }


def _median_ratios(rounds: list[dict]) -> dict[str, float]:
    """The median over the rounds of each round's p50 ratio: steadier than the ratio of the whole
    when one round was disturbed."""
    return {key: statistics.median(row[key] for row in rounds) for key in ("p50_ratio", "uncached_p50_ratio")}


def _read_figures(samples: Samples, prefix: str = "") -> dict[str, float]:
    figures = latency_figures(samples)
    return {f"{prefix}reads_per_s": figures["calls_per_s"], f"{prefix}read_p50_us": figures["p50_us"],
            f"{prefix}read_p95_us": figures["p95_us"], f"{prefix}read_p99_us": figures["p99_us"]}


@benchmark("gateway_security", "logins and dossier reads through the gateway with mutual TLS and the session "
                               "check vs the same stack without them")
def gateway_security(quick: bool) -> Comparison:
    sizes = QUICK if quick else FULL
    pinned_before, placement = _unpinned()
    login_clients = 4 * len(os.sched_getaffinity(0))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-gateway-security-") as folder, ExitStack() as cleanup:
            root = Path(folder)
            stacks = {}
            for side, settings in ((SECURED, {}), (BARE, {"GRPC_TLS": "off"})):
                vhost_url = cleanup.enter_context(isolated_vhost(AMQP_URL))
                databases = root / side / "databases"  # SQLite files of the stack's own
                databases.mkdir(parents=True)
                stack = new_stack(root / side / "stack", vhost_url, DatabaseFactory(None, databases), free_port,
                                  LOG_LEVEL="WARNING", **settings)
                # Tokens outlive the read rounds (at most 15 minutes, identity's longest).
                stack.overrides["identity"] = {"ACCESS_TOKEN_MINUTES": "15"}
                if side == BARE:
                    stack.overrides["gateway"] = {"CHECK_SESSIONS": "0"}
                cleanup.callback(stack.stop)
                stack.start()
                stacks[side] = stack
            uncached_url = start_uncached_gateway(stacks[SECURED], root)
            setup_started = time.perf_counter()
            worlds = {side: populate(stack, sizes["contacts"], sizes["professionals"])
                      for side, stack in stacks.items()}
            setup_s = time.perf_counter() - setup_started

            logins = {side: password_login(stacks[side].gateway_url, worlds[side].operator_username, PASSWORD)
                      for side in (SECURED, BARE)}
            login_rates, logins_by_round = login_rounds(logins, sizes, login_clients)

            gateways = {SECURED: (SECURED, stacks[SECURED].gateway_url, "gateway"),
                        UNCACHED: (SECURED, uncached_url, "gateway-uncached"),
                        BARE: (BARE, stacks[BARE].gateway_url, "gateway")}
            tokens = {side: [log_in(stack, username).api.token for username in worlds[side].contact_usernames]
                      for side, stack in stacks.items()}
            reads = {}
            for side, (stack_side, url, gateway) in gateways.items():
                stack = stacks[stack_side]
                reads[side] = DossierReads(side, url, tokens[stack_side], worlds[stack_side].professional_ids,
                                           READ_CLIENTS, _stack_pids(stack, gateway), stack)
                reads[side].round(sizes["warmup_reads"])  # connections, channels, signing keys
            samples, asks_per_read, cpu_per_read, reads_by_round = read_rounds(reads, sizes)
    finally:
        os.sched_setaffinity(0, pinned_before)

    figures = {SECURED: {"logins_per_s": login_rates[SECURED], **_read_figures(samples[SECURED]),
                         **_read_figures(samples[UNCACHED], "uncached_")},
               BARE: {"logins_per_s": login_rates[BARE], **_read_figures(samples[BARE]),
                      **_read_figures(samples[BARE], "uncached_")}}
    targets = _targets(figures)
    return Comparison(
        subject=Side(SECURED, figures[SECURED]), anchor=Side(BARE, figures[BARE]),
        headline="read_p50_us",
        parameters={**sizes, "read_clients": READ_CLIENTS, "login_clients": login_clients,
                    "sessions": sizes["contacts"], "session_check_seconds": 0.5,
                    "stack": "all processes real, SQLite, gunicorn 2 workers x 8 threads, a RabbitMQ vhost each"},
        target=Target("read_p50_us", "<=", TARGET, "dossier reads at most 15% slower with mutual TLS and the "
                                                   "session check than without"),
        details={"placement": placement, "targets": targets, "session_checks_per_read": asks_per_read,
                 "read_p50_ratios_median_of_rounds": _median_ratios(reads_by_round),
                 "cpu_per_read_us": cpu_per_read,
                 "cpu_per_read_over_bare": {side: round(cpu_per_read[side]["all"] / cpu_per_read[BARE]["all"], 3)
                                            for side in (SECURED, UNCACHED)},
                 "setup_s": round(setup_s, 1),
                 "by_round": {"logins": logins_by_round, "reads": reads_by_round}},
        notes=["A dossier read is JWT verification, the session check (secured: CheckSession at identity unless "
               "this worker found the session live within SESSION_CHECK_SECONDS), ListMemberships at organisation, "
               "CheckAccess at consent and GetDossier at reporting (which logs the read).",
               "uncached_* are the secured stack read through a second gateway with SESSION_CHECK_SECONDS=0, so "
               "every read asks identity: the worst case. The bare gateway asks identity nothing, so its "
               "uncached_* are its own read figures.",
               "details.targets judges the slowdown: secured/bare for latencies, bare/secured for rates."],
    )
