"""Make docs/demo.png: the main window on the demo sandbox, rendered offscreen.

Usage: QT_QPA_PLATFORM=offscreen python scripts/screenshot.py [OUT.png]
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402

import ui.app as app_module  # noqa: E402
from gridclient.paths import AppPaths  # noqa: E402
from gridclient.registry import ExtensionRegistry  # noqa: E402
from gridclient.secrets import MemoryKeyring, SecretStore  # noqa: E402


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/demo.png"
    app = app_module.make_app()
    registry = ExtensionRegistry().discover()
    sandbox = app_module.start_sandbox(registry)
    with tempfile.TemporaryDirectory() as ws:
        wb, win = app_module.build(AppPaths.under(ws), secrets=SecretStore(MemoryKeyring()), registry=registry,
                                   title="demo sandbox", sandbox=sandbox)
        m, tree = win.model, win.tree
        project = m.index(0, 0)
        tree.expand(project)
        for row in range(3):
            tree.expand(m.index(row, 0, project))

        def open_more() -> None:
            storage = m.index(2, 0, project)
            for row in range(m.rowCount(storage)):
                if m.element(m.index(row, 0, storage)).label == "demo-logs":
                    tree.expand(m.index(row, 0, storage))
            computing = m.index(0, 0, project)
            if m.rowCount(computing):
                tree.setCurrentIndex(m.index(0, 0, computing))

        def shoot() -> None:
            win.grab().save(out)
            print(f"wrote {out}")
            app.quit()

        win.show()
        QTimer.singleShot(2500, open_more)
        QTimer.singleShot(5000, shoot)
        app.exec()
        wb.close()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
