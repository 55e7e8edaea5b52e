"""Quitting while a listing waits on an endpoint that never answers: the process ends at once
(the lock released), instead of living on unseen for minutes and making the next start say the
app is already running."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

from gridclient.paths import AppPaths, WorkspaceLock
from gridclient.workbench import Workbench
from gridclient.workspace import GridProject

DRIVER = """
import sys
import keyring
from gridclient.secrets import encrypted_file_keyring
keyring.set_keyring(encrypted_file_keyring(sys.argv[2], sys.argv[3]))  # the test's keyring, unlocked
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from gridclient.cli import parser
import ui.app
from ui.main_window import MainWindow

shown = MainWindow.show

def show_then_quit(self):
    shown(self)
    def expand():
        project = self.model.index(0, 0)
        self.tree.expand(project)
        self.tree.expand(self.model.index(0, 0, project))  # Computing: its listing now hangs
        print('listing', flush=True)
    QTimer.singleShot(300, expand)
    QTimer.singleShot(5000, QApplication.instance().quit)  # boto3 loads, the request is sent

MainWindow.show = show_then_quit
sys.exit(ui.app.run(parser().parse_args(['--workspace', sys.argv[1]])))
"""


def test_quitting_does_not_wait_for_a_listing_that_hangs(tmp_path, keyring_backend):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:  # accepts, reads nothing, answers nothing
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    root = tmp_path / "ws"
    wb = Workbench(AppPaths.under(root))
    vo = wb.save_vo("Silent", "aws", {"region": "us-east-1", "access_key_id": "A", "secret_access_key": "B",
                                      "endpoint_url": f"http://127.0.0.1:{silent.getsockname()[1]}"})
    wb.workspace.add_project(GridProject("Silent", vo.id))
    wb.close()
    try:
        done = subprocess.run([sys.executable, "-c", DRIVER, str(root), keyring_backend.file_path,
                               "test master password"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2], timeout=90)
    finally:
        silent.close()
        for c in held:
            c.close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "listing" in done.stdout and held, "the listing never reached the endpoint"
    assert "not waiting for it" in done.stderr
    WorkspaceLock(AppPaths.under(root)).acquire().release()  # free for the next start
