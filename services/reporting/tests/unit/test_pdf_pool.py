"""The PDF pool's worker processes end with the reporting process, however it ends: a SIGKILLed
reporting must leave no process behind holding the stack's output pipe open (honcho, which
`make run` uses, stops the stack only once a process's output ends)."""
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVICE = """
import time
from reporting.pdf import PdfPool
pool = PdfPool(2)
list(pool.map(time.sleep, [0.3] * 4))  # both workers are up
print("ready", flush=True)
time.sleep(600)
"""


def _processes() -> dict[int, tuple[int, str]]:
    """Every process's parent and state, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid_part, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # ended meanwhile
            continue
        state, parent = rest.split()[:2]
        found[int(pid_part.split(" (")[0])] = (int(parent), state)
    return found


def descendants(pid: int) -> set[int]:
    processes, found, todo = _processes(), set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, (ppid, _) in processes.items() if ppid == parent}
        found |= children
        todo += children
    return found


def alive(pids: set[int]) -> set[int]:
    """Those still running (a zombie has ended; it only waits to be reaped)."""
    processes = _processes()
    return {pid for pid in pids if pid in processes and processes[pid][1] not in ("Z", "X")}


def output_ends(pipe, seconds: float) -> bool:
    """True once every process holding the pipe's other end has closed it, within `seconds`."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if select.select([pipe], [], [], remaining)[0] and not pipe.read1(65536):
            return True
    return False


def test_every_process_of_the_pool_ends_within_seconds_when_reporting_is_killed():
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    pool: set[int] = set()
    try:
        assert service.stdout.readline() == b"ready\n"
        pool = descendants(service.pid)  # the workers, the fork server that starts them, its resource tracker
        assert len(pool) >= 3
        service.send_signal(signal.SIGKILL)
        service.wait(5)
        assert output_ends(service.stdout, 3), f"still running: {sorted(alive(pool))}"
        deadline = time.monotonic() + 3
        while alive(pool) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pool)
    finally:
        if service.poll() is None:
            service.kill()
        for pid in alive(pool):  # whatever outlived it, so the test leaves nothing behind
            os.kill(pid, signal.SIGKILL)
        service.stdout.close()
