"""The README's launch, on a real X server: ``python -m gridclient --demo`` with Qt's xcb plugin.

Everything else runs Qt offscreen, which needs none of the X11 libraries Qt's xcb plugin links
against; this test is what keeps the Quick start's package list honest (``.ci/run`` installs Xvfb
for it). It also checks that SIGTERM closes the app the normal way: exit status 0, the demo's
throwaway workspace removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

TITLE = "gridclient — demo sandbox"
GUARD = 90  # upper bound on start-up on a slow CI machine; never a speed assertion


@pytest.fixture
def xserver(tmp_path):
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is needed for this test: apt-get install xvfb x11-utils (see README)"
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        display = f.readline().strip()  # Xvfb writes the display number once it accepts clients
    assert display, "Xvfb did not start"
    yield f":{display}"
    proc.terminate()
    proc.wait(GUARD)


def window_names(display: str) -> str:
    out = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                         capture_output=True, text=True, timeout=GUARD)
    return out.stdout


def test_demo_window_opens_on_x11_and_sigterm_closes_it_cleanly(xserver, tmp_path):
    assert shutil.which("xwininfo"), "xwininfo is needed for this test: apt-get install x11-utils"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=xserver, QT_QPA_PLATFORM="xcb", TMPDIR=str(tmp), HOME=str(tmp_path / "home"))
    log = tmp_path / "app.log"
    with open(log, "wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "gridclient", "--demo"], env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + GUARD
        while TITLE not in window_names(xserver):
            assert app.poll() is None, f"the app exited with {app.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no window titled {TITLE!r}:\n{log.read_text()}"
            time.sleep(0.2)
        assert list(tmp.glob("gridclient-demo-*")), "the demo's throwaway workspace is where expected"
        app.send_signal(signal.SIGTERM)
        assert app.wait(GUARD) == 0, log.read_text()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(GUARD)
    assert TITLE not in window_names(xserver)
    assert not list(tmp.glob("gridclient-demo-*")), "the throwaway workspace was left behind"
    assert "Traceback" not in log.read_text(), log.read_text()


def test_a_signal_before_the_event_loop_runs_still_quits(tmp_path):
    """SIGTERM can come right after the window is shown, before app.exec(): QApplication.quit()
    called then is a no-op, and the app would run on (seen once on a loaded machine)."""
    code = ("import os, signal, sys\n"
            "from PySide6.QtWidgets import QMainWindow\n"
            "from ui.app import make_app, quit_on_signals\n"
            "app = make_app(); quit_on_signals(app)\n"
            "w = QMainWindow(); w.show()\n"
            "os.kill(os.getpid(), signal.SIGTERM)\n"
            "sys.exit(app.exec())\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=GUARD)
    assert proc.returncode == 0, proc.stderr
