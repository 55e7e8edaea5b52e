"""The Python console dock: qtconsole with an in-process kernel holding the workspace objects."""

from __future__ import annotations

import os
import warnings
from typing import Any

from PySide6.QtWidgets import QWidget


def _quiet_kernel_imports() -> None:
    """What ipykernel prints on stderr that is no news to the person, silenced before it is imported.

    ipykernel imports debugpy, whose pydevd checks on import whether frozen modules are in use and
    then prints a four-line "Debugger warning" (once per process): nobody debugs the app through
    this console, and pydevd reads this variable at that import. ipykernel's own kernel answers a
    history request synchronously, and its kernel base class then warns that it should be async
    (a PendingDeprecationWarning, shown under ``-W default`` and in development runs).
    """
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("QT_API", "pyside6")
    warnings.filterwarnings("ignore", message=r"For consistency across implementations, it is recommended that `do_",
                            category=PendingDeprecationWarning, module=r"ipykernel\.kernelbase")


def make_console(parent: QWidget, namespace: dict[str, Any]) -> QWidget:
    _quiet_kernel_imports()
    from qtconsole.inprocess import QtInProcessKernelManager
    from qtconsole.rich_jupyter_widget import RichJupyterWidget

    km = QtInProcessKernelManager()
    km.start_kernel(show_banner=False)
    km.kernel.gui = "qt"
    km.kernel.shell.push(namespace)
    kc = km.client()
    kc.start_channels()
    widget = RichJupyterWidget(parent)
    widget.setObjectName("pythonConsole")
    widget.banner = ("gridclient console — names: " + ", ".join(sorted(namespace)) + "\n")
    widget.kernel_manager = km
    widget.kernel_client = kc
    return widget
