"""Who may call each method of the consent API, by the name in the caller's certificate.

One line per method; a method without a line is refused to every caller (svckit.peer_auth), and
tests/unit/test_peers.py fails until a new method has its line. Name only the processes that
call the method today.
"""
ALLOWED_PEERS: dict[str, set[str]] = {
    "GrantConsents": {"gateway"},
    "GetConsent": set(),  # no process asks for one consent yet
    "ChangeConsentEndDate": {"gateway"},
    "RevokeConsent": {"gateway"},
    "ListConsents": {"gateway"},
    "ListConsentHistory": {"gateway"},
    "ListContactProfessionals": set(),  # nor for these two lists
    "ListOrganisationProfessionals": set(),
    "CheckAccess": {"gateway"},
    "BatchCheckAccess": {"gateway"},  # the dossier list: one live check for a page of candidates
    # The gateway reads the log's head for a report; reporting rebuilds and fills gaps from it.
    "ListConsentEvents": {"gateway", "reporting"},
}
