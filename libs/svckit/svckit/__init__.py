"""pe-insight's shared service kit. Infrastructure only: no domain types live here."""
