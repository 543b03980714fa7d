"""The "Open clips…" button answered as a person would: the real file dialog, the names typed into it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QPushButton, QWidget


def click_open_clips(panel: QWidget, folder: Path, files: list[str]) -> bool:
    """Click the panel's "Open clips…" and answer its modal file dialog: go to `folder`, type the quoted
    names, Open. True once a dialog was answered (the click returns when it has closed)."""
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == "Open clips…")
    answered: list[QFileDialog] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog) or answered:
            return
        answered.append(dialog)
        dialog.setDirectory(str(folder))
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        assert edit is not None
        edit.setText(" ".join(f'"{name}"' for name in files))
        dialog.accept()

    poll = QTimer(panel)
    poll.timeout.connect(answer)
    poll.start(20)
    try:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    finally:
        poll.stop()
        poll.deleteLater()
    return bool(answered)
