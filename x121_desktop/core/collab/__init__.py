"""Collaboration rules without I/O: deep links, @mentions, lock lease timing, presence freshness."""
