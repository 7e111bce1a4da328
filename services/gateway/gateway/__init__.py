"""pe-insight HTTP gateway: authenticates callers, checks permissions live, calls the services."""
