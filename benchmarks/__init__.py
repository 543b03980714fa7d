"""Performance benchmarks that print figures (not tests). Run: python -m benchmarks [name...]."""
