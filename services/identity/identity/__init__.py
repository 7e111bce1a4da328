"""pe-insight identity service: Accounts, password-setup links, login sessions and the keys that sign access tokens."""
