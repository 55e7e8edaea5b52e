"""The window opens as it was left: size, docks, column widths and expanded nodes (ui/window_state.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QDockWidget

from tests.ui.test_project_model import child_by_label
from ui.app import build
from ui.window_state import FILE_NAME
from ui.worker import io_pool


def open_window(qtbot, app_paths):
    wb, win = build(app_paths)
    qtbot.addWidget(win)
    win.show()
    return wb, win


def close_window(wb, win) -> None:
    win.close()
    io_pool().waitForDone(10000)
    wb.close()


def expand_in_view(qtbot, win, index: QModelIndex) -> None:
    """Expand as a person does (the view asks the model for the rows), then wait for them."""
    model = win.model
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(index)):
        win.tree.expand(index)


def test_the_window_reopens_as_it_was_left(qtbot, app_paths, workbench, cloud):
    wb, win = open_window(qtbot, app_paths)
    model = win.model
    win.resize(720, 560)
    props_dock = win.findChild(QDockWidget, "propertiesDock")
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, props_dock)
    win.tree.header().resizeSection(0, 333)
    project = model.index(0, 0)
    storage = child_by_label(model, project, "Storage")
    expand_in_view(qtbot, win, storage)
    bucket = child_by_label(model, storage, "alpha-bucket")
    expand_in_view(qtbot, win, bucket)
    expand_in_view(qtbot, win, child_by_label(model, bucket, "docs/"))
    close_window(wb, win)
    assert (app_paths.config / FILE_NAME).is_file()  # with the workspace, as --workspace DIR asks

    wb2, win2 = open_window(qtbot, app_paths)
    model2, tree2 = win2.model, win2.tree
    assert (win2.width(), win2.height()) == (720, 560)
    assert tree2.columnWidth(0) == 333
    assert win2.dockWidgetArea(win2.findChild(QDockWidget, "propertiesDock")) == Qt.DockWidgetArea.RightDockWidgetArea

    def expanded(*labels: str) -> bool:
        index = model2.index(0, 0)
        for label in labels:
            rows = {model2.element(model2.index(r, 0, index)).label: model2.index(r, 0, index)
                    for r in range(model2.rowCount(index))}
            if label not in rows or not tree2.isExpanded(rows[label]):
                return False
            index = rows[label]
        return model2.node(index).state == "loaded"

    # each level is expanded once its parent's listing has come, down to the folder, listed
    qtbot.waitUntil(lambda: expanded("Storage", "alpha-bucket", "docs/"), timeout=30000)
    assert tree2.isExpanded(model2.index(0, 0))
    # what was not expanded was neither expanded nor loaded
    project2 = model2.index(0, 0)
    for label in ("Computing", "Services"):
        category = child_by_label(model2, project2, label)
        assert not tree2.isExpanded(category) and model2.node(category).state == "idle"
    beta = child_by_label(model2, child_by_label(model2, project2, "Storage"), "beta-bucket")
    assert not tree2.isExpanded(beta) and model2.node(beta).state == "idle"
    close_window(wb2, win2)


def test_a_project_left_collapsed_stays_collapsed(qtbot, app_paths, workbench):
    wb, win = open_window(qtbot, app_paths)
    assert win.tree.isExpanded(win.model.index(0, 0))  # a project is shown open the first time
    win.tree.collapse(win.model.index(0, 0))
    close_window(wb, win)
    wb2, win2 = open_window(qtbot, app_paths)
    assert not win2.tree.isExpanded(win2.model.index(0, 0))
    close_window(wb2, win2)


@pytest.mark.parametrize("content", [
    b"\x00\xff\xfe garbage \x9c\x00[[[\n=\n",
    b"[General]\ngeometry=not a geometry\nlayout=@ByteArray(\\x1\\x2\\x3junk)\ntree_header=42\n"
    b"tree=\"{\\\"expanded\\\": [[1, 2], \\\"x\\\", null], \\\"projects\\\": 7}\"\n",
    b"[General]\ntree=[[[not json\n",
], ids=["binary", "foreign-values", "bad-json"])
def test_a_damaged_window_ini_does_not_stop_the_window(qtbot, app_paths, workbench, content):
    (app_paths.config / FILE_NAME).write_bytes(content)
    wb, win = open_window(qtbot, app_paths)
    assert win.isVisible() and win.model.rowCount() == 3  # the project, "Local files", "SSH connections"
    assert win.tree.isExpanded(win.model.index(0, 0))  # the defaults stand
    assert win.tree.columnWidth(0) == 250
    win.resize(640, 480)
    close_window(wb, win)
    # and the file is written anew, so the next start has the layout again
    wb2, win2 = open_window(qtbot, app_paths)
    assert (win2.width(), win2.height()) == (640, 480)
    close_window(wb2, win2)


def test_the_demo_in_a_kept_workspace_reopens_what_was_expanded(qtbot, app_paths, demo_sandbox):
    """--demo --workspace DIR: the sandbox puts its project into the workspace before the window
    is made, so the window opens on it as it was left (it used to rebuild the project after the
    window had restored its layout, and everything below the project came back collapsed)."""
    from gridclient.secrets import MemoryKeyring, SecretStore

    demo_sandbox.reseed()  # another module's moto reset may have emptied it

    def open_demo():
        wb, win = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
        qtbot.addWidget(win)
        win.show()
        return wb, win

    wb, win = open_demo()
    project = win.model.index(0, 0)
    assert win.model.element(project).label == "Demo" and win.tree.isExpanded(project)
    storage = child_by_label(win.model, project, "Storage")
    expand_in_view(qtbot, win, storage)
    expand_in_view(qtbot, win, child_by_label(win.model, storage, "demo-datasets"))
    close_window(wb, win)

    wb2, win2 = open_demo()
    model = win2.model
    project = model.index(0, 0)
    storage = child_by_label(model, project, "Storage")
    qtbot.waitUntil(lambda: model.rowCount(storage) > 1 and win2.tree.isExpanded(storage), timeout=20000)
    datasets = child_by_label(model, storage, "demo-datasets")
    qtbot.waitUntil(lambda: win2.tree.isExpanded(datasets) and "raw/" in
                    [model.element(model.index(r, 0, datasets)).label for r in range(model.rowCount(datasets))],
                    timeout=20000)
    assert not win2.tree.isExpanded(child_by_label(model, project, "Computing"))
    close_window(wb2, win2)
