"""Run command… from the window's menu on the demo's running instances (moto over HTTP, its
loopback SSH endpoint running the commands on this machine): the Operations dock's Jobs tab shows
the job and its hosts, the selected host's output as it streams, Cancel and Remove finished."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QMenu

from gridclient.secrets import MemoryKeyring, SecretStore
from tests.ui.test_storage_dnd import row
from ui.app import build
from ui.jobs_view import EXIT, STATE, TITLE
from ui.worker import io_pool

pytest.importorskip("moto.server")


@pytest.fixture
def win(qtbot, app_paths, demo_sandbox):
    demo_sandbox.reseed()
    wb, window = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    yield window
    if wb._jobs is not None:
        for job in wb.jobs.jobs:
            job.cancel()
            job.wait(20)
    io_pool().waitForDone(10000)
    wb.close()


def run_from_menu(qtbot, win, monkeypatch, answer: dict, *labels: str):
    rows = [row(win, "Demo", "Computing", label) for label in labels]
    sel = win.tree.selectionModel()
    sel.clearSelection()
    for r in rows:
        sel.select(r, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    asked = []
    monkeypatch.setattr(win.interaction, "ask",
                        lambda title, fields, text="", **_: asked.append((title, [f.name for f in fields])) or answer)
    menu = QMenu(win)
    win._fill_actions(menu)
    found = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert found["action:aws.ec2.run"].isEnabled() and found["action:aws.ec2.run"].text() == "Run command…"
    found["action:aws.ec2.run"].trigger()
    assert asked == [("Run command", ["source", "command", "script"])]  # the form of the action's fields
    qtbot.waitUntil(lambda: win.jobs_tab.panel is not None and bool(win.wb.jobs.jobs), timeout=30000)
    return win.wb.jobs.jobs[-1]


def test_run_command_on_two_running_instances_shows_the_jobs_tab_rows(qtbot, win, monkeypatch):
    job = run_from_menu(qtbot, win, monkeypatch, {"source": "a command", "command": "uname -s; echo oops >&2"},
                        "web-1", "web-2")
    assert job.wait(30), [h.state for h in job.hosts]
    panel = win.jobs_tab.panel
    tabs = win.operations_tabs
    assert tabs.currentWidget() is panel and tabs.tabText(tabs.currentIndex()) == "Jobs"
    assert tabs.tabText(0) == "Transfers" and tabs.tabText(2) == "Actions"
    qtbot.waitUntil(lambda: panel.job_row(job) is not None and panel.job_row(job).text(STATE) == "done",
                    timeout=10000)
    item = panel.job_row(job)
    assert item.text(TITLE) == "uname -s; echo oops >&2"
    hosts = [item.child(i) for i in range(item.childCount())]
    assert [(h.text(TITLE), h.text(STATE), h.text(EXIT)) for h in hosts] == [
        ("web-1", "done", "0"), ("web-2", "done", "0")]
    # the first host is selected: its stdout and stderr in their panes
    assert panel.tree.currentItem() is hosts[0]
    system = subprocess.run(["uname", "-s"], capture_output=True, text=True).stdout
    qtbot.waitUntil(lambda: panel.stdout.toPlainText() == system, timeout=5000)
    assert panel.stderr.toPlainText() == "oops\n" and panel.stdout.isReadOnly()
    assert panel.heading.text().startswith("web-1 (ubuntu@127.0.0.1:")
    panel.tree.setCurrentItem(hosts[1])
    assert panel.heading.text().startswith("web-2 ") and panel.stdout.toPlainText() == system
    # the outcome's message says where to look
    qtbot.waitUntil(lambda: "Operations → Jobs" in win.statusBar().currentMessage(), timeout=10000)

    panel.remove_action.trigger()
    assert panel.job_row(job) is None
    qtbot.waitUntil(lambda: win.wb.jobs.jobs == [], timeout=10000)


def test_output_follows_as_it_streams_and_cancel_stops_the_remote_command(qtbot, win, monkeypatch, tmp_path):
    go = tmp_path / "go"
    marker = f"sleep {3000 + uuid.uuid4().int % 5000}"
    job = run_from_menu(qtbot, win, monkeypatch, {
        "source": "a command", "command": f'echo started; while [ ! -e "{go}" ]; do sleep 0.1; done; {marker}'},
        "web-1")
    panel = win.jobs_tab.panel
    qtbot.waitUntil(lambda: panel.stdout.toPlainText() == "started\n", timeout=30000)  # before it ended
    assert not job.ended
    go.write_text("")
    qtbot.waitUntil(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0,
                    timeout=10000)
    item = panel.job_row(job)
    panel.tree.setCurrentItem(item)
    assert panel.cancel_action.isEnabled()
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: item.text(STATE) == "cancelled", timeout=20000)
    assert item.child(0).text(STATE).startswith("cancelled: Cancelled: the remote command was sent SIGTERM")
    qtbot.waitUntil(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                    timeout=10000)


def test_a_stopped_instance_is_not_offered_run_command(qtbot, win):
    r = row(win, "Demo", "Computing", "batch-worker")
    win.tree.setCurrentIndex(r)
    menu = QMenu(win)
    win._fill_actions(menu)
    found = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert not found["action:aws.ec2.run"].isEnabled()
