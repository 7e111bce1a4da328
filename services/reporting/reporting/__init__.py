"""pe-insight reporting service: Dossiers and overview reports from reporting's own read model of consents and PE progress."""
