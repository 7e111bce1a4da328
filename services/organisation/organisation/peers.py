"""Who may call each method of the organisation API, by the name in the caller's certificate.

One line per method; a method without a line is refused to every caller (svckit.peer_auth), and
tests/unit/test_peers.py fails until a new method has its line. Name only the processes that
call the method today.
"""
ALLOWED_PEERS: dict[str, set[str]] = {
    "RegisterOrganisation": {"gateway"},
    "GetOrganisation": {"gateway", "consent", "reporting"},
    "UpdateOrganisation": {"gateway"},
    "ListOrganisations": {"gateway"},
    "AuthoriseOrganisation": {"gateway"},
    "RejectOrganisation": {"gateway"},
    "SuspendOrganisation": {"gateway"},
    "ListOrganisationTransitions": {"gateway"},
    "AddContact": {"gateway"},
    "GetContact": {"gateway", "consent"},
    "UpdateContact": {"gateway"},
    "RemoveContact": {"gateway"},
    # reporting counts, in each overview report, only consents to the contacts there are now.
    "ListContacts": {"gateway", "reporting"},
    "ListMemberships": {"gateway"},
}
