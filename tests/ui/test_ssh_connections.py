"""SSH connections in the tree, against a real OpenSSH sshd: a host added with New SSH
connection… shows its home folder's files (also after a restart), is removed again, and a terminal
tab's folder — reported by its shell with OSC 7 — is shown in the tree, over the tab's own SSH
connection (one login for both)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.secrets import MemoryKeyring, SecretStore
from gridclient.ssh import KnownHosts
from tests.ui.test_storage_dnd import row
from ui.app import build
from ui.worker import io_pool

WAIT = 20000


@pytest.fixture
def home_dir():
    """A folder of its own in the login's home (the sshd's user is the one running the tests)."""
    path = Path.home() / f".gridclient-test-{uuid.uuid4().hex[:8]}"
    (path / "results run 1").mkdir(parents=True)
    (path / "results run 1" / "out.csv").write_text("a,b\n1,2\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def window(qtbot, app_paths, sshd):
    KnownHosts(app_paths.known_hosts, user_file=None).add(sshd.host, sshd.port, sshd.host_pkey())
    made = []

    def make():
        wb, win = build(app_paths, secrets=SecretStore(MemoryKeyring()))
        qtbot.addWidget(win)
        win.resize(1100, 800)
        win.show()
        win.ask_before_close = False
        made.append(wb)
        return win

    yield make
    io_pool().waitForDone(10000)
    for wb in made:
        wb.close()


def child_labels(win, index) -> list[str]:
    return [win.model.element(win.model.index(r, 0, index)).label for r in range(win.model.rowCount(index))]


def add_connection(qtbot, win, sshd, label="lab box"):
    connections = row(win, "SSH connections")
    action = win.wb.registry.actions["sftp.add_connection"]
    win.interaction = ScriptedInteraction(ask_answers=[{
        "host": sshd.host, "port": str(sshd.port), "user": sshd.user, "key_file": str(sshd.key_file),
        "label": label}])
    run = win.run_action(action, [connections])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    return run.outcome


def test_a_host_added_shows_its_home_folder_and_stays_after_a_restart(qtbot, window, sshd, home_dir):
    win = window()
    assert child_labels(win, row(win, "SSH connections", open_last=True)) == ["(empty)"]
    outcome = add_connection(qtbot, win, sshd)
    assert "SSH connections" in outcome.message
    saved = win.wb.workspace.preferences["ssh_connections"]
    assert len(saved) == 1 and saved[0]["uri"].endswith(f"{Path.home()}/")
    assert "secret" not in str(saved) and saved[0]["ssh"]["key_file"] == str(sshd.key_file)
    qtbot.waitUntil(lambda: "lab box" in child_labels(win, row(win, "SSH connections")), timeout=WAIT)
    folder = row(win, "SSH connections", "lab box", home_dir.name, "results run 1", open_last=True)
    assert child_labels(win, folder) == ["out.csv"]

    # after a restart: the same row, dialled again from what was kept
    again = window()
    folder = row(again, "SSH connections", "lab box", home_dir.name, "results run 1", open_last=True)
    assert child_labels(again, folder) == ["out.csv"]
    assert again.model.element(row(again, "SSH connections", "lab box")).detail.startswith(
        f"{sshd.user}@{sshd.host}:{sshd.port}")

    # removed: the row goes, the files stay
    action = again.wb.registry.actions["sftp.remove_connection"]
    again.interaction = ScriptedInteraction(default_confirm=True)
    run = again.run_action(action, [row(again, "SSH connections", "lab box")])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    assert again.wb.workspace.preferences["ssh_connections"] == []
    qtbot.waitUntil(lambda: "lab box" not in child_labels(again, row(again, "SSH connections")), timeout=WAIT)
    assert (home_dir / "results run 1" / "out.csv").exists()


def test_a_wrong_port_is_said_before_anything_is_tried(qtbot, window, sshd):
    win = window()
    connections = row(win, "SSH connections")
    win.interaction = ScriptedInteraction(ask_answers=[{"host": sshd.host, "port": "99999"}])
    run = win.run_action(win.wb.registry.actions["sftp.add_connection"], [connections])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "failed" and "1 to 65535" in run.outcome.message
    assert not win.wb.workspace.preferences.get("ssh_connections")


def open_tab(qtbot, win, sshd):
    terminal = win.open_terminal(sshd.target())
    tab = win.terminals.tab_of(terminal)
    qtbot.waitUntil(lambda: tab.state == "connected", timeout=WAIT)
    return tab


def test_a_terminals_folder_is_shown_in_the_tree_over_the_tabs_connection(qtbot, window, sshd, home_dir):
    win = window()
    logins = sshd.log().count("Accepted publickey")
    tab = open_tab(qtbot, win, sshd)
    folder = home_dir / "results run 1"
    # the shell reports its folder as bash's usual prompt hook does (OSC 7, percent-encoded)
    tab.terminal.send(f"cd '{folder}' && printf '\\033]7;file://%s%s\\007' \"$HOSTNAME\" "
                      f"\"$(echo \"$PWD\" | sed 's/ /%20/g')\"\r".encode())
    qtbot.waitUntil(lambda: tab.folder == str(folder), timeout=WAIT)
    assert "in " + str(folder) in win.terminals.tabToolTip(win.terminals.indexOf(tab))

    win.ssh_files.show_folder(tab)  # no row of that host yet: it is added, then walked down
    qtbot.waitUntil(lambda: win.tree.currentIndex().isValid()
                    and win.model.element(win.tree.currentIndex()).label == "results run 1", timeout=WAIT)
    current = win.tree.currentIndex()
    assert win.model.element(current).ref["uri"].endswith(f"{home_dir.name}/results run 1/")
    assert win.tree.isExpanded(current)
    qtbot.waitUntil(lambda: child_labels(win, current) == ["out.csv"], timeout=WAIT)
    assert len(win.wb.workspace.preferences["ssh_connections"]) == 1
    # the tree's files came over the tab's connection: one login for both
    assert sshd.log().count("Accepted publickey") == logins + 1


def test_a_shell_that_does_not_report_its_folder_is_told_how(qtbot, window, sshd):
    win = window()
    tab = open_tab(qtbot, win, sshd)
    assert tab.folder is None
    win.ssh_files.show_folder(tab)
    assert "PROMPT_COMMAND" in win.statusBar().currentMessage()
    assert not win.wb.workspace.preferences.get("ssh_connections")


def test_file_new_ssh_connection_keeps_the_host_once_its_terminal_is_connected(qtbot, window, sshd):
    """What File → New → SSH connection does with "Show its files" ticked: the tab connects, then the
    host is kept under SSH connections over the tab's own SSH connection (one login)."""
    win = window()
    logins = sshd.log().count("Accepted publickey")
    terminal = win.open_terminal(sshd.target(label="build box"))
    tab = win.terminals.tab_of(terminal)
    win.ssh_files.keep_when_connected(tab)  # asked while it is still connecting
    qtbot.waitUntil(lambda: "build box" in child_labels(win, row(win, "SSH connections")), timeout=WAIT)
    saved = win.wb.workspace.preferences["ssh_connections"]
    assert [c["label"] for c in saved] == ["build box"] and saved[0]["uri"].endswith(f"{Path.home()}/")
    assert sshd.log().count("Accepted publickey") == logins + 1
