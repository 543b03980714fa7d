"""Domain layer: plain data and pure logic; no Qt, database or network."""
