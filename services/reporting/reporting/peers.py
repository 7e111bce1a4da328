"""Who may call each method of the reporting API, by the name in the caller's certificate.

One line per method; a method without a line is refused to every caller (svckit.peer_auth), and
tests/unit/test_peers.py fails until a new method has its line. Name only the processes that
call the method today.
"""
ALLOWED_PEERS: dict[str, set[str]] = {
    "GetDossier": {"gateway"},
    "ListDossiers": {"gateway"},
    "BatchGetDossiers": {"gateway"},
    "GetOwnDossier": {"gateway"},
    "GenerateOverviewReport": {"gateway"},
    # PE registry imports run as `python -m reporting import-progress`, not over gRPC.
    "IngestProgress": set(),
    "ListAccessLog": {"gateway"},
}
