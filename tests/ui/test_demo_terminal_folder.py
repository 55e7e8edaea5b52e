"""On the demo, a terminal and the instance's files agree on paths: Open terminal here on a folder
of web-1's Files starts the shell in it (``/home/ubuntu/data``, as SFTP shows it), the shell
reports its folder (OSC 7) as it moves, and Show folder in tree walks web-1's Files down to it.
A tab of SSH login… on an instance shows its folder under that instance's own Files, loaded on
the way; one whose instance is gone, or shows no Files, says so and shows it as a host's tab does."""

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
    qtbot.waitUntil(lambda: win.terminals.count() == 1, timeout=WAIT)  # the outcome reaches the window
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


def _restarted(qtbot, app_paths, demo_sandbox, made: list):
    """The app again on the same workspace (what Browse files… kept is kept; nothing loaded yet)."""
    from gridclient.secrets import MemoryKeyring, SecretStore
    from ui.app import build

    wb, window = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
    made.append(wb)
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    window.ask_before_close = False
    return window


def _ssh_login(qtbot, win, *path: str):
    """SSH login… on the instance at ``path`` (its row loaded, not expanded): its tab, connected,
    its shell in the login's home."""
    inst = row(win, *path)
    count = win.terminals.count()
    run = win.run_action(win.wb.registry.actions["aws.ec2.ssh"], [inst])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    qtbot.waitUntil(lambda: win.terminals.count() > count, timeout=WAIT)  # the outcome reaches the window
    tab = win.terminals.currentWidget()
    qtbot.waitUntil(lambda: tab.state == "connected", timeout=WAIT)
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu", timeout=WAIT)
    return tab


def _labels(win, index) -> list[str]:
    out = []
    while index.isValid():
        out.insert(0, win.model.element(index).label)
        index = index.parent()
    return out


@pytest.fixture
def restart(qtbot, app_paths, demo_sandbox):
    from ui.worker import io_pool

    made: list = []
    yield lambda: _restarted(qtbot, app_paths, demo_sandbox, made)
    io_pool().waitForDone(10000)
    for wb in made:
        wb.close()


def test_an_instance_tabs_folder_is_shown_under_that_instances_files(qtbot, win, restart):  # noqa: F811
    """SSH login… on an instance whose Files were opened in an earlier run (not loaded now): Show
    folder in tree walks down Computing → the instance → Files → the folder, loading each on the
    way — not a new row of the host under SSH connections."""
    win.ask_before_close = False
    open_files(qtbot, win)  # Browse files… on web-1: kept in the VO's settings
    again = restart()
    tab = _ssh_login(qtbot, again, "Demo", "Computing", "web-1")
    assert again.model.node(row(again, "Demo", "Computing", "web-1")).state == "idle"  # its Files not listed yet
    tab.terminal.send(b"cd data\r")
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu/data", timeout=WAIT)

    again.ssh_files.show_folder(tab)
    qtbot.waitUntil(lambda: _labels(again, again.tree.currentIndex())[-1:] == ["data"], timeout=WAIT)
    current = again.tree.currentIndex()
    assert _labels(again, current) == ["Demo", "Computing", "web-1", "Files", "data"]
    assert again.model.element(current).ref["uri"].endswith("/home/ubuntu/data/")
    assert again.tree.isExpanded(current)
    assert not again.wb.workspace.preferences.get("ssh_connections")
    assert again.model.rowCount(row(again, "SSH connections", open_last=True)) == 1  # its "(empty)"


def _browse_files(qtbot, win, name: str) -> None:
    """Browse files… on the instance ``name``: its "Files" row under it."""
    inst = row(win, "Demo", "Computing", name)
    run = win.run_action(win.wb.registry.actions["aws.ec2.files"], [inst])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    qtbot.waitUntil(lambda: "Files" in [win.model.element(win.model.index(r, 0, inst)).label
                                        for r in range(win.model.rowCount(inst))], timeout=WAIT)


def test_an_instance_tab_shows_its_own_files_also_once_its_rows_are_made_anew(qtbot, win):  # noqa: F811
    """web-1 and web-2 are on one SSH endpoint on the demo (same login, same files): web-2's tab
    shows its folder under web-2's Files, not under the first row of that host; again once the
    project's rows are made anew (Preferences); and once the project is gone, it says so and shows
    it under SSH connections."""
    win.ask_before_close = False
    _browse_files(qtbot, win, "web-1")
    _browse_files(qtbot, win, "web-2")
    tab = _ssh_login(qtbot, win, "Demo", "Computing", "web-2")
    tab.terminal.send(b"cd data\r")
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu/data", timeout=WAIT)
    win.ssh_files.show_folder(tab)
    qtbot.waitUntil(lambda: _labels(win, win.tree.currentIndex()) == ["Demo", "Computing", "web-2", "Files", "data"],
                    timeout=WAIT)

    # the project shown anew (as after Edit → Preferences): its rows are new, found again by their keys
    vo = win.wb.workspace.vo_by_name("Demo")
    win.wb.vo_revisions[vo.id] = win.wb.vo_revisions.get(vo.id, 0) + 1
    win.model.reload_projects()
    assert not win.tree.currentIndex().isValid()
    win.ssh_files.show_folder(tab)
    qtbot.waitUntil(lambda: _labels(win, win.tree.currentIndex()) == ["Demo", "Computing", "web-2", "Files", "data"],
                    timeout=WAIT)
    assert not win.wb.workspace.preferences.get("ssh_connections")

    # the project removed: said, and the folder shown as a host's tab shows it
    project = next(p for p in win.wb.workspace.projects.values() if p.vo == vo.id)
    win.wb.workspace.remove_project(project.id)
    win.model.remove_project(project.id)
    win.ssh_files.show_folder(tab)
    assert "web-2 is no longer in the tree" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: _labels(win, win.tree.currentIndex()) == ["SSH connections", "web-2", "data"],
                    timeout=WAIT)
    assert win.statusBar().currentMessage() == "web-2 is no longer in the tree: /home/ubuntu/data"
    assert len(win.wb.workspace.preferences["ssh_connections"]) == 1


def test_an_instance_that_shows_no_files_yet_gets_them_and_its_folder_is_shown_there(qtbot, win):  # noqa: F811
    win.ask_before_close = False
    tab = _ssh_login(qtbot, win, "Demo", "Computing", "web-1")  # no Browse files… on it
    tab.terminal.send(b"cd data\r")
    qtbot.waitUntil(lambda: tab.folder == "/home/ubuntu/data", timeout=WAIT)
    win.ssh_files.show_folder(tab)  # runs Browse files… on web-1 (its standard command), then walks
    qtbot.waitUntil(lambda: _labels(win, win.tree.currentIndex()) == ["Demo", "Computing", "web-1", "Files", "data"],
                    timeout=WAIT)
    assert win.statusBar().currentMessage() == "/home/ubuntu/data"
    assert not win.wb.workspace.preferences.get("ssh_connections")  # nothing added under SSH connections
    assert win.model.element(win.tree.currentIndex()).ref["uri"].endswith("/home/ubuntu/data/")
