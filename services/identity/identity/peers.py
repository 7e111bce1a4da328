"""Who may call each method of the identity API, by the name in the caller's certificate.

One line per method; a method without a line is refused to every caller (svckit.peer_auth), and
tests/unit/test_peers.py fails until a new method has its line. Name only the processes that
call the method today.
"""
ALLOWED_PEERS: dict[str, set[str]] = {
    # Professionals (gateway) and employer contacts (organisation); never operators, see servicer.
    "CreateAccount": {"gateway", "organisation"},
    "BatchCreateAccounts": {"gateway"},
    # organisation asks whether a contact has set a password before a manager may correct the address.
    "GetAccount": {"gateway", "consent", "organisation"},
    "BatchGetAccounts": {"reporting"},
    "UpdateAccount": {"organisation"},
    "DisableAccount": {"organisation"},
    "DeleteAccount": {"organisation"},
    "IssuePasswordSetupLink": {"gateway", "organisation"},
    "CompletePasswordSetup": {"gateway"},
    "Authenticate": {"gateway"},
    "RefreshSession": {"gateway"},
    "RevokeSession": {"gateway"},
    "CheckSession": {"gateway"},
    "ChangePassword": {"gateway"},
    "RequestEmailChange": {"gateway"},
    "ConfirmEmailChange": {"gateway"},
    "ListSigningKeys": {"gateway"},
    "ListAccountEvents": set(),  # the audit trail: no process reads it yet
}
