"""Routes of the gateway, one module a resource."""
