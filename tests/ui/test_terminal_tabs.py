"""Terminal tabs against a real OpenSSH sshd on 127.0.0.1: what the person sees in the tab's
emulated screen after login, a resize, an alternate-screen program, a dropped connection and a
closed tab; and the New SSH connection dialog's checks."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt

from gridclient.interaction import ScriptedInteraction
from ui.terminal.connect_dialog import SSHConnectDialog
from ui.terminal.tabs import TerminalTab, TerminalTabs

WAIT = 20_000  # ms: generous upper bounds for a loaded CI machine, not timing assertions


@pytest.fixture
def tabs(qtbot):
    widget = TerminalTabs()
    qtbot.addWidget(widget)
    widget.resize(900, 560)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close_all()


def target_for(sshd, **overrides):
    from gridclient.ssh import SSHTarget

    values = dict(host=sshd.host, port=sshd.port, user=sshd.user, key_file=str(sshd.key_file),
                  ssh_config_file="")  # ignore the developer's ~/.ssh/config
    values.update(overrides)
    return SSHTarget(**values)


def open_tab(qtbot, tabs, sshd, known_hosts, **overrides) -> TerminalTab:
    interaction = ScriptedInteraction()
    terminal = tabs.open_session(target_for(sshd, **overrides), known_hosts, interaction)
    tab = tabs.tab_of(terminal)
    assert tab is not None and tabs.currentWidget() is tab
    return tab


def connected_tab(qtbot, tabs, sshd, known_hosts) -> TerminalTab:
    tab = open_tab(qtbot, tabs, sshd, known_hosts)
    qtbot.waitUntil(lambda: tab.state != "connecting", timeout=WAIT)
    assert tab.state == "connected", tab.reason
    assert not tab.banner.isVisible()
    # wait for the shell: type a marker command and see its output
    run(qtbot, tab, "echo ready-$((1+1))", "ready-2")
    return tab


def screen_lines(tab: TerminalTab) -> list[str]:
    return [line.rstrip() for line in tab.terminal.text().split("\n")]


def run(qtbot, tab: TerminalTab, command: str, expect_line: str) -> None:
    """Type ``command`` and Enter as a person would, and wait for a line of output equal to ``expect_line``."""
    tab.terminal.send(command.encode() + b"\r")
    qtbot.waitUntil(lambda: expect_line in screen_lines(tab), timeout=WAIT)


def test_login_and_command_output_on_the_emulated_screen(qtbot, tabs, sshd, sshd_known_hosts):
    tab = connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    terminal = tab.terminal
    assert tabs.objectName() == "terminalTabs" and tabs.tabsClosable()
    # typed through the keyboard mapping, not written as bytes
    for ch in "echo hello-$((6*7))":
        qtbot.keyClicks(terminal, ch)
    qtbot.keyClick(terminal, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "hello-42" in screen_lines(tab), timeout=WAIT)
    # the command line itself shows what was typed, the output line only the result
    assert any(line.endswith("echo hello-$((6*7))") for line in screen_lines(tab))
    # and it was painted: the widget has drawn frames since the output arrived
    terminal.flush()
    assert terminal.frames > 0
    # the tab title follows OSC 2
    terminal.send(b"printf '\\033]2;%s\\007' remote-title-$((2+3))\r")
    qtbot.waitUntil(lambda: tabs.tabText(tabs.indexOf(tab)) == "remote-title-5", timeout=WAIT)


def test_stty_size_follows_a_resize(qtbot, tabs, sshd, sshd_known_hosts):
    tab = connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    terminal = tab.terminal
    run(qtbot, tab, "stty size", f"{terminal.rows} {terminal.cols}")
    cw, ch = terminal.cell_size().width(), terminal.cell_size().height()
    old = (terminal.cols, terminal.rows)
    tabs.resize(tabs.width() - 12 * cw, tabs.height() - 5 * ch)
    qtbot.waitUntil(lambda: (terminal.cols, terminal.rows) != old, timeout=WAIT)
    assert terminal.cols == old[0] - 12 and terminal.rows == old[1] - 5
    terminal.send(b"clear\r")
    qtbot.waitUntil(lambda: not any("stty" in line for line in screen_lines(tab)), timeout=WAIT)
    run(qtbot, tab, "stty size", f"{terminal.rows} {terminal.cols}")


def test_alternate_screen_program_restores_the_screen(qtbot, tabs, sshd, sshd_known_hosts):
    tab = connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    terminal = tab.terminal
    run(qtbot, tab, "echo before-$((40+2))", "before-42")
    # a full-screen program: switch to the alternate screen, draw, wait for a key, switch back
    terminal.send(b"printf '\\033[?1049h\\033[H\\033[2Jfull-%s\\n' screen; read -r _; tput rmcup\r")
    qtbot.waitUntil(lambda: "full-screen" in screen_lines(tab), timeout=WAIT)
    assert terminal.emulator.alternate_screen
    assert "before-42" not in screen_lines(tab)
    qtbot.keyClick(terminal, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not terminal.emulator.alternate_screen, timeout=WAIT)
    qtbot.waitUntil(lambda: "before-42" in screen_lines(tab), timeout=WAIT)
    assert "full-screen" not in screen_lines(tab)

    # less, driven with keys: it shows the file, q quits and the shell screen is back
    terminal.send(b"seq 1000 1100 | less\r")
    qtbot.waitUntil(lambda: terminal.emulator.alternate_screen and "1000" in screen_lines(tab), timeout=WAIT)
    qtbot.keyClick(terminal, Qt.Key.Key_Space)  # next page
    qtbot.waitUntil(lambda: "1000" not in screen_lines(tab), timeout=WAIT)
    qtbot.keyClicks(terminal, "q")
    qtbot.waitUntil(lambda: not terminal.emulator.alternate_screen, timeout=WAIT)
    qtbot.waitUntil(lambda: "before-42" in screen_lines(tab), timeout=WAIT)
    assert "1050" not in screen_lines(tab)


def test_killed_server_shows_disconnected_and_reconnect(qtbot, tabs, sshd_factory, tmp_path):
    from gridclient.ssh import KnownHosts

    server = sshd_factory()  # a private server: this test kills it
    known_hosts = KnownHosts(tmp_path / "known_hosts", user_file=None)
    known_hosts.add(server.host, server.port, server.host_pkey())
    tab = connected_tab(qtbot, tabs, server, known_hosts)
    server.stop()  # the listener and every connection it serves, like a machine that went away
    qtbot.waitUntil(lambda: tab.state == "disconnected", timeout=WAIT)
    assert tab.banner.isVisible()
    assert tab.status.text().startswith("Disconnected")
    assert tab.reconnect_button.isVisible() and tab.reconnect_button.text() == "Reconnect"
    # the screen keeps what was there, typing goes nowhere and nothing crashes
    assert "ready-2" in screen_lines(tab)
    qtbot.keyClicks(tab.terminal, "ls")
    # Reconnect with the server gone: the attempt fails in the tab, with the button still there
    qtbot.mouseClick(tab.reconnect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.state == "failed", timeout=WAIT)
    assert tab.reconnect_button.isVisible()
    assert tab.status.text().startswith("Could not connect")


def test_closing_the_tab_closes_the_session(qtbot, tabs, sshd, sshd_known_hosts):
    tab = connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    session = tab.session
    assert session.connected
    tabs.tabCloseRequested.emit(tabs.indexOf(tab))
    assert tabs.count() == 0
    qtbot.waitUntil(lambda: not session.connected, timeout=WAIT)


class FakeTarget:
    def title(self) -> str:
        return "fake@example"


class FakeSession:
    """A session the tab drives without a network: records the thread that closed it, and may
    hold its login until ``gate`` is set."""

    def __init__(self, gate: threading.Event | None = None):
        self.gate = gate
        self.shell_opened = threading.Event()
        self.closed = threading.Event()
        self.closed_on: threading.Thread | None = None
        self.connected = False

    def connect(self, timeout: float = 15) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self.connected = True

    def open_shell(self, cols: int, rows: int) -> None:
        self.shell_opened.set()

    def start_reader(self, on_data, on_closed) -> None:
        on_data(b"fake$ ")

    def write(self, data: bytes) -> None:
        pass

    def resize(self, cols: int, rows: int) -> None:
        pass

    def close(self) -> None:
        self.closed_on = threading.current_thread()
        self.connected = False
        self.closed.set()


def fake_tabs(qtbot, sessions: list[FakeSession], gate: threading.Event | None = None) -> TerminalTabs:
    def factory(target, known_hosts, interaction):
        sessions.append(FakeSession(gate))
        return sessions[-1]

    widget = TerminalTabs(session_factory=factory)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    return widget


def test_closing_a_tab_closes_its_session_off_the_gui_thread(qtbot):
    sessions: list[FakeSession] = []
    tabs = fake_tabs(qtbot, sessions)
    tab = tabs.tab_of(tabs.open_session(FakeTarget(), None, ScriptedInteraction()))
    qtbot.waitUntil(lambda: tab.state == "connected", timeout=WAIT)
    qtbot.waitUntil(lambda: "fake$" in tab.terminal.text(), timeout=WAIT)
    session = sessions[0]
    assert tab.session is session and tab.terminal.backend is session
    gui = threading.current_thread()
    tabs.close_tab(tabs.indexOf(tab))
    assert session.closed.wait(5)
    assert session.closed_on is not None and session.closed_on is not gui
    assert tab.state == "closed" and tab.session is None and tab.terminal.backend is None


def test_a_session_opened_after_its_tab_closed_is_closed_not_kept(qtbot):
    gate = threading.Event()
    sessions: list[FakeSession] = []
    tabs = fake_tabs(qtbot, sessions, gate)
    tabs.open_session(FakeTarget(), None, ScriptedInteraction())
    qtbot.waitUntil(lambda: len(sessions) == 1, timeout=WAIT)  # the worker is logging in
    tabs.close_tab(0)
    qtbot.wait(50)  # the tab is deleted meanwhile
    gate.set()  # the login completes for nobody
    assert sessions[0].closed.wait(5)
    assert sessions[0].closed_on is not threading.current_thread()


def test_a_session_handed_over_as_its_tab_closes_is_closed_in_the_background(qtbot):
    sessions: list[FakeSession] = []
    tabs = fake_tabs(qtbot, sessions)
    tab = tabs.tab_of(tabs.open_session(FakeTarget(), None, ScriptedInteraction()))
    # no event loop here: the worker hands the session over, and its outcome stays queued
    deadline = time.monotonic() + 10
    while tab._arriving is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tab._arriving is sessions[0] and tab.state == "connecting"
    tabs.close_tab(0)  # before the tab heard of it: the tab owns it all the same
    assert sessions[0].closed.wait(5)
    assert sessions[0].closed_on is not threading.current_thread()
    qtbot.wait(50)  # the late outcome finds the attempt stale (or the tab gone): nothing else happens


def test_wrong_user_is_shown_in_the_tab_with_reconnect(qtbot, tabs, sshd, sshd_known_hosts):
    tab = open_tab(qtbot, tabs, sshd, sshd_known_hosts, user="no-such-user-here")
    qtbot.waitUntil(lambda: tab.state == "failed", timeout=WAIT)
    assert tab.banner.isVisible() and tab.reconnect_button.isVisible()
    assert "no-such-user-here" in tab.status.text() or "authenticat" in tab.status.text().lower()


# -- the New SSH connection dialog ------------------------------------------------------------
def test_connect_dialog_validates_inline(qtbot, tmp_path):
    dlg = SSHConnectDialog()
    qtbot.addWidget(dlg)
    assert not dlg.ok_button.isEnabled()
    assert "host" in dlg.problem.text().lower()
    qtbot.keyClicks(dlg.host, "server.example.org")
    assert dlg.ok_button.isEnabled()
    for bad in ("abc", "0", "70000"):
        dlg.port.setText(bad)
        assert not dlg.ok_button.isEnabled()
        assert "port" in dlg.problem.text().lower()
    dlg.port.setText("2222")
    assert dlg.ok_button.isEnabled()
    # every label has its mnemonic: none shows a literal "&"
    from PySide6.QtWidgets import QLabel

    assert all("&" not in lbl.text() or lbl.buddy() is not None for lbl in dlg.findChildren(QLabel))
    dlg.key_file.setText(str(tmp_path / "missing_key"))
    assert not dlg.ok_button.isEnabled() and "missing_key" in dlg.problem.text()
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key")
    dlg.key_file.setText(str(key))
    dlg.user.setText("admin")
    dlg.label.setText("web box")
    assert dlg.ok_button.isEnabled() and dlg.problem.text() == ""
    target = dlg.target()
    assert (target.host, target.port, target.user, target.key_file, target.label) == (
        "server.example.org", 2222, "admin", str(key), "web box")
    dlg.port.setText("")
    dlg.user.setText("")
    assert dlg.target().port is None and dlg.target().user is None


def test_interaction_calls_from_the_worker_run_on_the_gui_thread(qtbot):
    import threading

    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    from ui.interaction import gui_safe

    seen = []

    class Recording(ScriptedInteraction):
        def confirm(self, title, text, *, default=False):
            seen.append(QThread.currentThread() is QApplication.instance().thread())
            return super().confirm(title, text, default=default)

    inner = Recording(confirm_answers=[True])
    safe = gui_safe(inner)
    answers = []
    worker = threading.Thread(target=lambda: answers.append(safe.confirm("Unknown host", "SHA256:abc")))
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=WAIT)
    assert answers == [True] and seen == [True]
    assert inner.log == [("confirm", "Unknown host", "SHA256:abc")]
    assert gui_safe(safe) is safe


def test_terminal_font_preference_applies_to_open_tabs_and_is_kept(qtbot, tabs, sshd, sshd_known_hosts, app_paths,
                                                                    keyring_backend):
    from gridclient.workbench import Workbench
    from gridclient.workspace import Workspace
    from ui.preferences import PreferencesDialog
    from ui.terminal.tabs import font_from_preference

    tab = connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    terminal = tab.terminal
    cols_before, cell_before = terminal.cols, terminal.cell_size()
    wb = Workbench(app_paths)
    try:
        dialog = PreferencesDialog(wb, on_terminal_font=tabs.set_terminal_font)
        qtbot.addWidget(dialog)
        dialog.font_size.setValue(20)  # twice the default: the cells grow, the grid shrinks
        assert terminal.cell_size().width() > cell_before.width()
        assert terminal.cols < cols_before
        # the remote's pty follows the new grid
        run(qtbot, tab, "stty size", f"{terminal.rows} {terminal.cols}")
        # kept in the workspace file, and used by a window made later
        saved = Workspace(app_paths).preferences["terminal_font"]
        assert saved["size"] == 20 and saved["family"] == dialog.font_family.currentFont().family()
        assert font_from_preference(saved).pointSize() == 20
    finally:
        wb.close()


def test_empty_editor_area_says_how_to_open_a_terminal(qtbot, tabs, sshd, sshd_known_hosts):
    from collections import Counter

    def hint_pixels() -> int:
        """Pixels that differ from the background (the most common colour): the drawn text."""
        img = tabs.grab().toImage()
        colours = Counter(img.pixel(x, y) for y in range(0, img.height(), 2) for x in range(0, img.width(), 2))
        return sum(colours.values()) - colours.most_common(1)[0][1]

    assert tabs.count() == 0 and hint_pixels() > 50  # the hint's text is drawn
    connected_tab(qtbot, tabs, sshd, sshd_known_hosts)
    tabs.close_tab(0)
    assert hint_pixels() > 50


def test_quitting_with_open_sessions_asks_first(qtbot, app_paths, keyring_backend, sshd, sshd_known_hosts,
                                                monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from ui.app import build

    wb, win = build(app_paths)
    qtbot.addWidget(win)
    win.show()
    tab = connected_tab(qtbot, win.terminals, sshd, sshd_known_hosts)
    asked = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer[0])
    assert not win.close()  # "No": the window and the session stay
    assert asked and "1 terminal session is open" in asked[0]
    assert win.isVisible() and tab.state == "connected"
    answer[0] = QMessageBox.StandardButton.Yes
    assert win.close()
    assert win.terminals.count() == 0 and tab.state == "closed"
    # told to quit by a signal, nobody is asked
    asked.clear()
    win2_wb, win2 = build(app_paths)
    qtbot.addWidget(win2)
    win2.show()
    connected_tab(qtbot, win2.terminals, sshd, sshd_known_hosts)
    win2.ask_before_close = False
    assert win2.close() and asked == []
    wb.close()
    win2_wb.close()


def test_open_terminal_here_starts_the_shell_in_that_folder(qtbot, tabs, sshd, sshd_known_hosts, tmp_path):
    """A folder of an SSH server's files → Open terminal here: the core's action gives the host's
    target with the folder, and the tab's shell is in it once connected."""
    from gridclient.actions import ActionContext
    from gridclient.elements import Element
    from gridclient.registry import resolve
    from gridclient.storage.sftp import root_of
    from gridclient.storage.sftp_tree import ssh_ref

    folder = tmp_path / "results dir"  # a space: the cd is quoted
    folder.mkdir()
    uri = f"sftp://{root_of(sshd.user, sshd.host, sshd.port)}{folder}/"
    element = Element("sftp.folder", uri, folder.name, has_children=True,
                      ref={"uri": uri, "ssh": ssh_ref(target_for(sshd))})
    result = resolve("gridclient.storage.sftp_tree:open_terminal")(
        ActionContext([element], vo=None, token=None, interaction=ScriptedInteraction(), paths=None))
    assert result.terminal.start_in == f"{folder}/" and result.terminal.host == sshd.host
    terminal = tabs.open_session(result.terminal, sshd_known_hosts, ScriptedInteraction())
    tab = tabs.tab_of(terminal)
    qtbot.waitUntil(lambda: tab.state == "connected", timeout=WAIT)
    run(qtbot, tab, "pwd", str(folder))
