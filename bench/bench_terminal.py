"""Terminal benchmark against a real OpenSSH sshd on 127.0.0.1, started here (not a test).

    python bench/bench_terminal.py [--mb 20] [--keys 100]

(a) ``cat`` of a 20 MB ls -l-like file through the terminal widget — SSH read, emulation and
    offscreen rendering, until the file's last line is painted — against
    ``ssh -p PORT -i KEY host cat file >/dev/null`` with OpenSSH. Both include connecting and
    logging in; the widget's figure without the login is printed too. Target ratio ≤ 3×.
(b) keystroke-to-echo latency over loopback, p50/p95: key event into the widget → the echoed
    character painted, typing at ~20 keys a second into bash. Target p95 ≤ 30 ms.
(c) the longest GUI-thread stall during the flood: the largest gap between ticks of a 10 ms
    QTimer. Target ≤ 50 ms.
(d) Ctrl+C during an endless flood (``yes``): key press → the prompt painted again (no target,
    reported for the "Ctrl+C still answers" promise).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


# -- a throwaway sshd ------------------------------------------------------------------------
class LocalSSHD:
    """OpenSSH's sshd on 127.0.0.1 at a free port with a generated host key and user key."""

    def __init__(self, root: Path):
        self.root, self.host, self.user = root, "127.0.0.1", os.environ.get("USER") or _whoami()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host_key, self.key_file = root / "ssh_host_ed25519_key", root / "id_ed25519"
        for path in (self.host_key, self.key_file):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
        (root / "authorized_keys").write_text(Path(f"{self.key_file}.pub").read_text())
        os.chmod(root / "authorized_keys", 0o600)
        config = root / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {root / 'authorized_keys'}", f"PidFile {root / 'sshd.pid'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "PrintMotd no",
            "PrintLastLog no", "Subsystem sftp internal-sftp", "LogLevel ERROR", ""]))
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir when run as root
        self.process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"sshd did not start: {self.process.stderr.read().decode()}") from None
                time.sleep(0.05)
        host_pub = Path(f"{self.host_key}.pub").read_text().split()
        digest = hashlib.sha256(base64.b64decode(host_pub[1])).digest()
        self.host_fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
        self.known_hosts_file = root / "known_hosts"
        self.known_hosts_file.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(5)


def start_sshd(root: Path):
    """The test fixture's sshd helper (tests.fixtures.sshd.SSHDServer) when available, else our own."""
    try:
        from tests.fixtures.sshd import SSHDServer
    except ImportError:
        return LocalSSHD(root)
    server = SSHDServer(root).start()
    server.known_hosts_file = root / "bench_known_hosts"
    server.known_hosts_file.write_text(server.known_hosts_line())
    server.host_fingerprint = server.host_fingerprint()  # the helper offers it as a method
    return server


def _whoami() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def make_file(path: Path, megabytes: int) -> str:
    """An ls -l-like text file of about ``megabytes`` MB; returns its (unique) last line."""
    size, i = 0, 0
    with path.open("w") as f:
        while size < megabytes * 1_000_000:
            line = (f"-rw-r--r-- 1 bench bench {i * 7919 % 99999999:>9} Jan {1 + i % 28:2d} 12:{i % 60:02d} "
                    f"data-{i:08d}.txt\n")
            f.write(line)
            size += len(line)
            i += 1
        last = f"-rw-r--r-- 1 bench bench         0 Dec 31 23:59 THE-LAST-LINE-{i}.txt"
        f.write(last + "\n")
    return last


# -- the widget side --------------------------------------------------------------------------
class Harness:
    def __init__(self, sshd: LocalSSHD):
        from gridclient.interaction import ScriptedInteraction
        from gridclient.ssh import KnownHosts, SSHSession, SSHTarget
        from ui.terminal.widget import TerminalWidget

        self.app = QApplication.instance() or QApplication([])
        self.widget = TerminalWidget()
        self.widget.resize(1000, 640)
        self.widget.show()
        self.app.processEvents()
        self.target = SSHTarget(host=sshd.host, port=sshd.port, user=sshd.user, key_file=str(sshd.key_file),
                                ssh_config_file="")
        self.known_hosts = KnownHosts(sshd.known_hosts_file, None)
        fingerprint = sshd.host_fingerprint

        class ThisHostOnly(ScriptedInteraction):
            """Accepts a host key only if it is the one this script generated (should the
            known_hosts entry not be recognised)."""

            def confirm(self, title, text, *, default=False):
                super().confirm(title, text, default=default)
                return fingerprint in text

        self.make_session = lambda: SSHSession(self.target, self.known_hosts, ThisHostOnly())
        self.session = None
        self.closed_reason = None
        self._watch = None  # (predicate on painted rows) -> time when it held
        original = self.widget.emulator.render

        def render(force_full=False):
            frame = original(force_full)
            if self._watch is not None and self._watch[1] is None and self._watch[0](frame):
                self._watch[1] = time.perf_counter()
            return frame

        self.widget.emulator.render = render

    def open(self) -> None:
        self.session = self.make_session()
        self.session.connect(timeout=15)
        self.session.open_shell(self.widget.cols, self.widget.rows)
        self.widget.set_backend(self.session)
        self.session.start_reader(self.widget.on_data, self._closed)

    def _closed(self, reason: str) -> None:
        self.closed_reason = reason

    def wait_painted(self, predicate, timeout: float = 120.0) -> float | None:
        """Run the event loop until a rendered frame satisfies ``predicate``; return that time."""
        self._watch = [predicate, None]
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(1)
        check.timeout.connect(lambda: loop.quit() if self._watch[1] is not None else None)
        check.start()
        QTimer.singleShot(int(timeout * 1000), loop.quit)
        if self._watch[1] is None:
            loop.exec()
        check.stop()
        when, self._watch = self._watch[1], None
        return when

    def key(self, key, text: str = "", mods=Qt.KeyboardModifier.NoModifier) -> None:
        QApplication.sendEvent(self.widget, QKeyEvent(QEvent.Type.KeyPress, key, mods, text))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def rows_text(frame) -> list[str]:
    return ["".join(run.text for run in runs) for _, runs in sorted(frame.rows.items())]


class StallMeter:
    """The largest gap between ticks of a 10 ms QTimer on the GUI thread."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.max_gap = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.max_gap = None, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.max_gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--keys", type=int, default=100)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-terminal-"))
    sshd = start_sshd(root)
    try:
        data = root / "listing.txt"
        last_line = make_file(data, args.mb)
        size_mb = data.stat().st_size / 1e6

        # OpenSSH baseline, best of three
        ssh_cmd = ["ssh", "-F", "/dev/null", "-p", str(sshd.port), "-i", str(sshd.key_file), "-o", "BatchMode=yes",
                   "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={sshd.known_hosts_file}",
                   "-o", "StrictHostKeyChecking=yes", f"{sshd.user}@{sshd.host}", "cat", str(data)]
        ssh_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(ssh_cmd, stdout=subprocess.DEVNULL, check=True)
            ssh_times.append(time.perf_counter() - t0)
        ssh_time = min(ssh_times)

        # the widget: connect, log in, cat, until the last line is painted
        h = Harness(sshd)
        stall = StallMeter()
        t0 = time.perf_counter()
        h.open()
        t_login = time.perf_counter()
        h.session.write(f"PS1='bench$ '; cat {data}\r".encode())
        stall.start()
        done = h.wait_painted(lambda f: any(last_line in line for line in rows_text(f)))
        max_stall = stall.stop()
        if done is None:
            print("the last line never reached the screen", file=sys.stderr)
            return 1
        widget_total, widget_cat = done - t0, done - t_login
        ratio = widget_total / ssh_time

        # wait for the prompt, then keystroke latency
        h.wait_painted(lambda f: any(line.rstrip() == "bench$" for line in rows_text(f)), timeout=30)
        latencies = []
        typed = 0
        for i in range(args.keys):
            if typed == 40:  # keep the line short: Ctrl+U clears it
                h.key(Qt.Key.Key_U, "\x15", Qt.KeyboardModifier.ControlModifier)
                h.wait_painted(lambda f: any(line.rstrip() == "bench$" for line in rows_text(f)), timeout=10)
                typed = 0
            typed += 1
            expect = "bench$ " + "x" * typed
            idle = time.perf_counter() + 0.04  # typing at ~20 keys a second, not back to back
            while time.perf_counter() < idle:
                h.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            t = time.perf_counter()
            h.key(Qt.Key.Key_X, "x")
            when = h.wait_painted(lambda f, e=expect: any(line.rstrip() == e for line in rows_text(f)), timeout=10)
            if when is not None:
                latencies.append(when - t)
        h.key(Qt.Key.Key_U, "\x15", Qt.KeyboardModifier.ControlModifier)
        latencies.sort()
        p50 = statistics.median(latencies) if latencies else float("nan")
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)] if latencies else float("nan")

        # Ctrl+C during an endless flood
        h.session.write(b"yes flood-flood-flood\r")
        h.wait_painted(lambda f: sum("flood-flood-flood" in line for line in rows_text(f)) > 5, timeout=30)
        flood_until = time.perf_counter() + 1.0
        while time.perf_counter() < flood_until:
            h.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        t = time.perf_counter()
        h.key(Qt.Key.Key_C, "\x03", Qt.KeyboardModifier.ControlModifier)
        when = h.wait_painted(lambda f: any(line.rstrip() == "bench$" for line in rows_text(f)), timeout=60)
        ctrl_c = (when - t) if when is not None else float("nan")
        h.close()

        rows = [
            ("(a) cat %.0f MB, OpenSSH ssh >/dev/null" % size_mb, f"{ssh_time:.2f} s", "", ""),
            ("(a) cat through the widget, incl. login", f"{widget_total:.2f} s", "", ""),
            ("(a) cat through the widget, after login", f"{widget_cat:.2f} s",
             f"{size_mb / widget_cat:.0f} MB/s", ""),
            ("(a) ratio widget / OpenSSH", f"{ratio:.2f}x", "<= 3x", "PASS" if ratio <= 3 else "FAIL"),
            ("(b) keystroke-to-echo p50", f"{p50 * 1000:.1f} ms", "", ""),
            ("(b) keystroke-to-echo p95", f"{p95 * 1000:.1f} ms", "<= 30 ms", "PASS" if p95 <= 0.030 else "FAIL"),
            ("(c) longest GUI stall during the flood", f"{max_stall * 1000:.1f} ms", "<= 50 ms",
             "PASS" if max_stall <= 0.050 else "FAIL"),
            ("(d) Ctrl+C during `yes` → prompt painted", f"{ctrl_c * 1000:.0f} ms", "", ""),
            ("    frames painted during (a)-(d)", str(h.widget.frames), "", ""),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'measure':<{width}}  {'figure':>10}  {'target':>9}  result")
        for name, figure, target, result in rows:
            print(f"{name:<{width}}  {figure:>10}  {target:>9}  {result}")
        return 0 if all(r[3] != "FAIL" for r in rows) else 2
    finally:
        sshd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
