"""pe-insight consent service: Professionals' consents: grant, end date, expiry, revocation, the live access check and consent events."""
