"""Signing in as a PostgreSQL role: keyring credentials and the user-admin use cases."""
