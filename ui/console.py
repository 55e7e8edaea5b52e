"""The Python console dock: qtconsole with an in-process kernel holding the workspace objects, the
tree's live selection and every action (:func:`namespace`), loaded the first time the dock shows."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QWidget

BANNER = """gridclient console. Names:
  workbench, vos, projects      the workspace ({examples})
  selection                     the rows selected in the tree, as elements (live)
  actions                       every action by id, run as from the menus:
                                  actions["aws.ec2.stop"](selection)
                                  actions.for_(selection)  lists the ones that apply
  run_on(hosts, "command")      a command on each (Operations → Jobs); its job:
                                  job = run_on(selection, "uptime").job(); job.wait()
                                  job.hosts[0].stdout.text()
  window, model, registry       the window, the tree's model, the extension registry
"""


class Selection(Sequence):
    """The tree's selected rows as their elements, read again at each use (``selection[0]``,
    ``list(selection)``); an action called on it runs on those rows, as from their context menu."""

    def __init__(self, window: Any):
        self._window = window

    def indexes(self) -> list:
        model = self._window.model
        return [i for i in self._window.selected_indexes() if model.element(i) is not None
                and model.node(i).kind == "element"]

    def elements(self) -> list:
        return [self._window.model.element(i) for i in self.indexes()]

    def __getitem__(self, i):
        return self.elements()[i]

    def __len__(self) -> int:
        return len(self.indexes())

    def __repr__(self) -> str:
        els = self.elements()
        if not els:
            return "selection: nothing selected in the tree"
        kinds = sorted({e.kind for e in els})
        return f"selection: {', '.join(e.label for e in els[:8])}{' …' if len(els) > 8 else ''} ({', '.join(kinds)})"


def namespace(window: Any) -> dict[str, Any]:
    """What the console holds: see :data:`BANNER`."""
    from gridclient.console_api import Actions, run_on

    wb = window.wb
    return {"run_on": lambda hosts, command, **kw: run_on(wb, window.start_from_console, hosts, command, **kw),"wb": wb, "workbench": wb, "window": window, "model": window.model, "workspace": wb.workspace,
            "registry": wb.registry, "vos": {vo.name: vo for vo in wb.workspace.vos.values()},
            "projects": {p.name: p for p in wb.workspace.projects.values()},
            "selection": Selection(window), "actions": Actions(wb.registry, window.start_from_console)}


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


def banner(namespace: dict[str, Any]) -> str:
    """:data:`BANNER`, its example names this workspace's first VO and project."""
    shown = [f'{what}["{next(iter(names))}"]' for what, names in (("vos", namespace.get("vos") or {}),
                                                                 ("projects", namespace.get("projects") or {}))
             if names]
    return BANNER.format(examples=", ".join(shown) or 'vos["NAME"], projects["NAME"]')


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
    widget.banner = banner(namespace)
    widget.kernel_manager = km
    widget.kernel_client = kc
    return widget
