"""Qt item models over frozen service values (DTO tuples)."""
