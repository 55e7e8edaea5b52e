"""On the demo, a terminal and the instance's files agree on paths: Open terminal here on a folder
of web-1's Files starts the shell in it (``/home/ubuntu/data``, as SFTP shows it), the shell
reports its folder (OSC 7) as it moves, and Show folder in tree walks web-1's Files down to it."""

from __future__ import annotations

import pytest

from tests.ui.test_instance_files_dnd import open_files, win  # noqa: F401 - the window fixture
from tests.ui.test_storage_dnd import row

pytest.importorskip("moto.server")

WAIT = 30000


def test_open_terminal_here_and_show_folder_in_tree_on_the_demo(qtbot, win, demo_sandbox):  # noqa: F811
    win.ask_before_close = False  # a terminal stays open at the end
    open_files(qtbot, win)
    data = row(win, "Demo", "Computing", "web-1", "Files", "data")
    action = win.wb.registry.actions["sftp.terminal"]
    run = win.run_action(action, [data])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    tab = win.terminals.currentWidget()
    qtbot.waitUntil(lambda: tab.state == "connected", timeout=WAIT)
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu/data", timeout=WAIT)

    # a folder made in the shell, then entered: the tab follows, and the tree shows it
    tab.terminal.send(b"mkdir -p 'run 7' && cd 'run 7' && echo done > result.txt\r")
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu/data/run 7", timeout=WAIT)
    real = demo_sandbox._ssh.files("ubuntu").real
    from pathlib import Path

    assert (Path(real) / "home/ubuntu/data/run 7/result.txt").read_text() == "done\n"
    win.ssh_files.show_folder(tab)
    qtbot.waitUntil(lambda: win.tree.currentIndex().isValid()
                    and win.model.element(win.tree.currentIndex()).label == "run 7", timeout=WAIT)
    current = win.tree.currentIndex()
    assert win.model.element(current.parent()).label == "data"  # under web-1's Files, not a new row
    qtbot.waitUntil(lambda: [win.model.element(win.model.index(r, 0, current)).label
                             for r in range(win.model.rowCount(current))] == ["result.txt"], timeout=WAIT)
    assert not win.wb.workspace.preferences.get("ssh_connections")
