"""Save a PNG of an X display's whole screen (for checking the studio under Xvfb by eye).

Usage: DISPLAY=:99 .venv/bin/python scripts/dev/grab_screen.py OUT.png
"""

from __future__ import annotations

import os
import sys

os.environ["QT_QPA_PLATFORM"] = "xcb"

from PySide6.QtGui import QGuiApplication


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    screen = app.primaryScreen()
    pixmap = screen.grabWindow(0)
    ok = pixmap.save(sys.argv[1], "PNG")
    print(f"{sys.argv[1]}: {pixmap.width()}x{pixmap.height()} {'saved' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
