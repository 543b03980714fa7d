"""Machine-local settings: paths and the versioned settings file (no Qt, no database)."""
