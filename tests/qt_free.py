"""Run Python in a fresh interpreter where PySide6 cannot be imported: the check that a part of
the app is Qt-free (the core, the providers, the terminal's emulator and byte intake). The test
process has PySide6 loaded already, so an in-process check could not fail."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCK_QT = '''
import sys
class _BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qtpy"):
            raise ImportError(f"{name} is blocked: this part must not need Qt")
sys.meta_path.insert(0, _BlockQt())
'''


def run_without_qt(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess:
    """``code`` (dedented) after the block, from the repository's root; output captured as text."""
    return subprocess.run([sys.executable, "-c", BLOCK_QT + textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)
