"""deploy/docker/engine.sh, run against stand-ins of docker, dockerd, apt-get and pgrep (a unit test:
the real engine is started by `make images`, never by the tests). The stand-ins keep their state in
files: whether the engine answers, which packages apt-get installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "deploy" / "docker" / "engine.sh"

FAKE_DOCKER = """\
#!/bin/sh
# docker: compose answers once the plugin is in DOCKER_PLUGIN_DIR; info once dockerd "runs".
case "$1 $2" in
  "compose version")
    [ -x "$DOCKER_PLUGIN_DIR/docker-compose" ] || exit 1
    if [ "$3" = --short ]; then echo 2.40.3; else echo "Docker Compose version v2.40.3"; fi ;;
  "info "*) [ -f "$STATE/running" ] ;;
  "version --format") echo 20.10.24 ;;
  *) echo "unexpected: docker $*" >&2; exit 2 ;;
esac
"""
FAKE_DOCKERD = """\
#!/bin/sh
echo "dockerd $*" >>"$STATE/dockerd-calls"
[ -f "$STATE/dockerd-broken" ] || touch "$STATE/running"
"""
FAKE_APT_GET = """\
#!/bin/sh
echo "apt-get $*" >>"$STATE/apt-calls"
case "$*" in *docker.io*) cp "$STATE/dockerd" "$FAKE_BIN/dockerd"; cp "$STATE/docker" "$FAKE_BIN/docker" ;; esac
"""
FAKE_PGREP = "#!/bin/sh\nexit 1\n"
# What engine.sh and the stand-ins use besides them; linked into the stand-ins' folder, the only PATH.
TOOLS = ("sh", "bash", "id", "mkdir", "install", "dirname", "sed", "mktemp", "tail", "rm", "sleep", "setsid",
         "cp", "touch", "cat")


class Machine:
    def __init__(self, folder: Path):
        self.bin, self.state, self.plugins = folder / "bin", folder / "state", folder / "plugins"
        for path in (self.bin, self.state):
            path.mkdir()
        self.log = folder / "dockerd.log"
        for name, text in (("docker", FAKE_DOCKER), ("dockerd", FAKE_DOCKERD), ("apt-get", FAKE_APT_GET),
                           ("pgrep", FAKE_PGREP)):
            self._script(self.state / name, text)
        self._script(self.bin / "apt-get", FAKE_APT_GET)
        self._script(self.bin / "pgrep", FAKE_PGREP)
        for tool in TOOLS:
            (self.bin / tool).symlink_to(shutil.which(tool))

    @staticmethod
    def _script(path: Path, text: str) -> None:
        path.write_text(textwrap.dedent(text))
        path.chmod(0o755)

    def with_docker_installed(self) -> "Machine":
        for name in ("docker", "dockerd"):
            (self.bin / name).write_bytes((self.state / name).read_bytes())
            (self.bin / name).chmod(0o755)
        return self

    def with_compose_plugin(self) -> "Machine":
        self.plugins.mkdir(exist_ok=True)
        self._script(self.plugins / "docker-compose", "#!/bin/sh\n")
        return self

    def running(self) -> "Machine":
        (self.state / "running").touch()
        return self

    def run(self) -> subprocess.CompletedProcess:
        # Only the stand-ins and the basic tools: no real docker, dockerd or apt-get is reachable.
        env = {"PATH": str(self.bin), "STATE": str(self.state), "FAKE_BIN": str(self.bin), "HOME": str(self.state),
               "DOCKER_PLUGIN_DIR": str(self.plugins), "DOCKERD_LOG": str(self.log),
               "DOCKERD_WAIT_SECONDS": "3", "VENV": str(ROOT / ".venv")}
        return subprocess.run([str(self.bin / "bash"), str(ENGINE)], env=env, capture_output=True, text=True, timeout=60,
                              cwd=ROOT)


@pytest.fixture
def machine(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("engine.sh installs and starts things as root; these tests run as root, as CI does")
    return Machine(tmp_path)


def test_does_nothing_and_says_ready_when_everything_is_there(machine):
    result = machine.with_docker_installed().with_compose_plugin().running().run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "docker engine: ready (engine 20.10.24, compose 2.40.3)\n"
    assert not (machine.state / "dockerd-calls").exists() and not (machine.state / "apt-calls").exists()


def test_installs_the_pinned_compose_as_a_plugin_and_starts_dockerd(machine):
    result = machine.with_docker_installed().run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"docker engine: installed compose 2.40.3 as a CLI plugin, started dockerd "
                             f"(log {machine.log}); ready (engine 20.10.24, compose 2.40.3)\n")
    import compose
    shipped = Path(compose.__file__).with_name("docker-compose")
    assert (machine.plugins / "docker-compose").read_bytes() == shipped.read_bytes()
    assert (machine.state / "dockerd-calls").read_text() == "dockerd \n"


def test_installs_debians_docker_io_when_dockerd_is_missing(machine):
    result = machine.with_compose_plugin().run()
    assert result.returncode == 0, result.stderr
    calls = (machine.state / "apt-calls").read_text().splitlines()
    assert calls[0] == "apt-get update -qq"
    assert calls[1].startswith("apt-get install") and calls[1].endswith("--no-install-recommends docker.io")
    assert result.stdout.startswith("docker engine: installed docker.io, started dockerd")


def test_fails_naming_the_log_when_dockerd_does_not_answer(machine):
    (machine.state / "dockerd-broken").touch()
    result = machine.with_docker_installed().with_compose_plugin().run()
    assert result.returncode == 1
    assert result.stderr.strip() == (f"docker engine: dockerd did not answer within 3 s; "
                                     f"see the end of {machine.log}")
