"""The layer rules of ARCHITECTURE.md hold: import-linter contracts run as part of the test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_importing_the_package_loads_no_heavy_modules() -> None:
    code = (
        "import sys, x121_desktop, x121_desktop.core.errors, x121_desktop.core.timebase;"
        "heavy = [m for m in ('PySide6', 'sqlalchemy', 'cv2', 'av', 'dlib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == ""


def test_non_ui_layers_import_without_qt() -> None:
    """Non-ui code must run where PySide6 is not installed: block it and import every non-ui module."""
    code = r"""
import importlib, pkgutil, sys
class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'qasync', 'pyqtgraph'):
            raise ImportError(f'Qt is not allowed here: {name}')
        return None
sys.meta_path.insert(0, _NoQt())
import x121_desktop
failed = []
for mod in pkgutil.walk_packages(x121_desktop.__path__, 'x121_desktop.'):
    if mod.name.startswith('x121_desktop.ui') or mod.name == 'x121_desktop.__main__':
        continue
    try:
        importlib.import_module(mod.name)
    except ImportError as exc:
        if 'Qt is not allowed' in str(exc):
            failed.append(f'{mod.name}: {exc}')
print('\n'.join(failed))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
