"""python -m svckit.probe PROCESS: is the gRPC service of this container serving?

For docker compose healthchecks and Kubernetes exec probes, which cannot show a client
certificate themselves. It reads the process's own settings (GRPC_PORT, and TLS_CA_FILE,
TLS_CERT_FILE, TLS_KEY_FILE, GRPC_TLS as svckit.config.tls_files reads them), asks the standard
health service at 127.0.0.1:GRPC_PORT over mutual TLS, and checks the server's certificate for
the name PROCESS. Exit status 0 when it answers SERVING; 1 otherwise, with one line saying why;
2 when a setting is missing or wrong.
"""
from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from svckit import tls
from svckit.config import Env, tls_files
from svckit.startup import run_main


def check(process: str, address: str, timeout: float, env: Env) -> str:
    """The service's status by name (SERVING, NOT_SERVING, ...), or why there was no answer."""
    # Checked against the process's name, which every certificate of it carries, whatever
    # addresses a deployment's certificates name.
    options = [("grpc.ssl_target_name_override", process)]
    with tls.open_channel(address, tls.load(tls_files(env, process)), options) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                              timeout=timeout)
        except grpc.RpcError as error:
            return f"no answer from {address}: {error.code().name}"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svckit.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("process", help="the process whose settings and certificate to use: identity, ...")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the answer (default 2)")
    arguments = parser.parse_args(argv)
    env = Env()
    address = f"127.0.0.1:{env.int('GRPC_PORT', minimum=1, maximum=65535)}"
    status = check(arguments.process, address, arguments.timeout, env)
    if status != "SERVING":
        print(f"{arguments.process}: {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_main("svckit.probe", lambda: sys.exit(main()))
