"""`make run`: check the broker, make the local certificates, then start every process of the
stack with honcho.

Ports and per-service databases can be set with IDENTITY_GRPC_PORT, IDENTITY_DATABASE_URL
and so on; without them each service uses its default port and an SQLite file under var/.
Each process gets its certificate from the private CA under var/tls/ (made on first start, kept
while valid, see svckit.pki) through the Procfile, as IDENTITY_TLS_CERT_FILE and so on.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from gateway.ratelimits import LIMITS
from svckit import pki
from svckit.amqp import check_broker
from svckit.config import Env, SettingError, amqp_url
from svckit.peer_auth import PROCESSES
from svckit.startup import DependencyError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORTS = {"IDENTITY": (50051, 9101), "ORGANISATION": (50052, 9102),
                 "CONSENT": (50053, 9103), "REPORTING": (50054, 9104)}


def tls_folder(env: dict[str, str]) -> Path:
    return Path(env.get("VAR_DIR") or "var") / "tls"


def stack_environment(environ: dict[str, str]) -> dict[str, str]:
    env = dict(environ)
    for service, (grpc_port, metrics_port) in DEFAULT_PORTS.items():
        env.setdefault(f"{service}_GRPC_PORT", str(grpc_port))
        env.setdefault(f"{service}_METRICS_PORT", str(metrics_port))
        env.setdefault(f"{service}_DATABASE_URL", "")
        env.setdefault(f"{service}_ADDR", f"127.0.0.1:{env[f'{service}_GRPC_PORT']}")
    env.setdefault("SMTP_PORT", "1025")
    # The web pages are where people go: the links in every mail (PUBLIC_URL) open them; the gateway
    # keeps its own address as its public URL, and the web calls it there.
    env.setdefault("GATEWAY_PORT", "8080")
    env.setdefault("WEB_PORT", "8000")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{env['WEB_PORT']}")
    env.setdefault("GATEWAY_PUBLIC_URL", f"http://127.0.0.1:{env['GATEWAY_PORT']}")
    env.setdefault("GATEWAY_URL", f"http://127.0.0.1:{env['GATEWAY_PORT']}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("DEVELOPMENT", "1")  # a developer's machine: see svckit.config.development
    env.setdefault("TLS_CA_FILE", str(pki.ca_paths(tls_folder(env))[0]))
    for process in PROCESSES:
        cert, key = pki.paths(tls_folder(env), process)
        env.setdefault(f"{process.upper()}_TLS_CERT_FILE", str(cert))
        env.setdefault(f"{process.upper()}_TLS_KEY_FILE", str(key))
    # `make demo` sets hundreds of passwords and logs in as many people from this one address; the
    # local gateway's rate limits let it (set RATE_LIMIT_LOGINS and the others to try the real ones).
    # Counts are kept in memory, per gunicorn worker.
    for limit in LIMITS:
        env.setdefault(limit.setting, "10000 per hour")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def main() -> int:
    try:
        check_broker(amqp_url(Env()), timeout=3)
    except (SettingError, DependencyError) as error:
        print(f"pe-insight: {error}", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    env = stack_environment(dict(os.environ))
    if env.get("GRPC_TLS") != "off":
        outcome = pki.ensure(tls_folder(env), sorted(PROCESSES))
        made = [name for name, what in outcome.items() if what != "kept"]
        if made:
            print(f"pe-insight: certificates made under {tls_folder(env)}/ for {', '.join(made)}", flush=True)
    port = env.get("GATEWAY_PORT", "8080")
    print(f"pe-insight is starting: web pages {env['PUBLIC_URL']}  API http://127.0.0.1:{port}/api/v1  "
          f"docs http://127.0.0.1:{port}/api/docs  ready when http://127.0.0.1:{port}/readyz says so; "
          f"mail lands in var/mail/. Stop with Ctrl-C.", flush=True)
    honcho = str(Path(sys.executable).parent / "honcho")
    os.execve(honcho, [honcho, "start", "-f", "Procfile", "-d", str(ROOT)], env)


if __name__ == "__main__":
    sys.exit(main())
