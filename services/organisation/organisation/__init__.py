"""pe-insight organisation service: Employer organisations, their authorisation, administrators, second contacts, contacts and departments."""
