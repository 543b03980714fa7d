"""PySide6 lives here only."""
