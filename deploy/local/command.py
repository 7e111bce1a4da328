"""Run a service's command, `python -m <service> ...`, with the settings `make run` gives that service.

`make run` hands each process its settings under the process's prefix (IDENTITY_DATABASE_URL,
REPORTING_TLS_CERT_FILE, ...), and the Procfile turns them into the names the process reads
(DATABASE_URL, TLS_CERT_FILE, ...). A command started by hand reads only the unprefixed names, so
with identity on PostgreSQL `python -m identity create-operator` would write into an SQLite file
under var/ that no running service reads. This reads the Procfile's line for the service and sets
the same environment start.py builds, so the command opens what the running service opens:

    .venv/bin/python deploy/local/command.py identity create-operator --username operator ...
    .venv/bin/python deploy/local/command.py reporting import-progress registry.csv
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from start import ROOT, stack_environment  # noqa: E402  (beside this file, not a package)

SERVICES = ("identity", "organisation", "consent", "reporting")


def procfile_settings(process: str, procfile: Path = ROOT / "Procfile") -> dict[str, str]:
    """What the Procfile sets for `process`: {name the process reads: name make run sets}."""
    for line in procfile.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            return dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=\$\{?([A-Z][A-Z0-9_]*)\}?", command))
    raise LookupError(f"the Procfile has no process {process!r}")


def environment(process: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment `make run` gives `process`, from this one (os.environ by default)."""
    env = dict(os.environ if environ is None else environ)
    # make run works in the repository root, where var/ is; a command may be started anywhere.
    env.setdefault("VAR_DIR", str(ROOT / "var"))
    env = stack_environment(env)
    for name, source in procfile_settings(process).items():
        env[name] = env.get(source, "")
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SERVICES:
        print(f"usage: {Path(sys.argv[0]).name} {{{','.join(SERVICES)}}} COMMAND [ARGUMENTS...]\n"
              f"runs python -m <service> COMMAND with the settings make run gives that service", file=sys.stderr)
        return 2
    service, *arguments = argv
    os.execve(sys.executable, [sys.executable, "-m", service, *arguments], environment(service))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
