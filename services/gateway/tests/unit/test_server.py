"""The gunicorn settings `python -m gateway` runs with."""
from gateway import config
from gateway.__main__ import GatewayServer


def test_the_server_writes_nothing_outside_tmp_and_its_metrics_folder():
    server = GatewayServer(config.load({"GATEWAY_PORT": "8099", "GATEWAY_WORKERS": "3"}))
    assert server.cfg.control_socket_disable is True   # no socket under $HOME
    assert server.cfg.worker_tmp_dir is None            # heartbeats in tempfile's folder, /tmp
    assert (server.cfg.bind, server.cfg.workers, server.cfg.worker_class_str) == (["0.0.0.0:8099"], 3, "gthread")
