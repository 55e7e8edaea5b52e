"""The Python console dock: qtconsole with an in-process kernel holding the workspace objects."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget


def make_console(parent: QWidget, namespace: dict[str, Any]) -> QWidget:
    import os

    os.environ.setdefault("QT_API", "pyside6")
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
