"""Jobs over SSH (SAGA's job model): a command, or a local script, run on N hosts in parallel.

:class:`RemoteJobs` (``Workbench.jobs``, made on first use) takes a :class:`Job` — the command or
the script's bytes, and one :class:`HostRun` per host with its :class:`~gridclient.ssh.SSHTarget`
— and runs it on at most :data:`PARALLEL` hosts at once, each on a daemon thread of its own
(:func:`gridclient.remote_run.run_host`: the terminal's SSH code, the remote process signalled on
cancel). Per host: its state (queued, connecting, running, done, failed, cancelled), stdout and
stderr as they arrive — the last :data:`KEEP_BYTES` of each in memory (:class:`Tail`) — the exit
status and a one-sentence error.

Listeners (``on_change(fn)``: ``fn(job)``) hear of changes on one teller thread, at most
:data:`TELL_EVERY` apart, however fast the output comes. The jobs are kept in ``jobs.json`` in the
workspace folder (written atomically, at most every :data:`SAVE_EVERY` seconds and at shutdown;
the last :data:`KEEP_JOBS`, each stream cut to its last :data:`SAVED_BYTES`); a file that cannot
be read is set aside as ``jobs.json.corrupt-<time>`` and said in :attr:`RemoteJobs.problems`.
Hosts that were not finished when the app closed are read back as cancelled.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from gridclient.workspace import atomic_write_text

log = logging.getLogger(__name__)

PARALLEL = 16  # hosts at once: each is a thread waiting on its SSH connection (parallel-ssh allows 32)
KEEP_BYTES = 1 << 20
SAVED_BYTES = 16 << 10
KEEP_JOBS = 50
TELL_EVERY = 0.1
SAVE_EVERY = 1.0
HOST_STATES = ("queued", "connecting", "running", "done", "failed", "cancelled")
ENDED = ("done", "failed", "cancelled")
SCRIPT_LIMIT = 1 << 20  # a script is sent whole on stdin: bigger files are transfers


class Tail:
    """The last ``limit`` bytes of a stream, and how many came in all (thread-safe)."""

    def __init__(self, limit: int = KEEP_BYTES, data: bytes = b"", total: int | None = None):
        self.limit = limit
        self._buf = bytearray(data[-limit:] if limit else b"")
        self.total = len(data) if total is None else max(total, len(data))
        self._lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            self.total += len(data)
            if len(self._buf) > self.limit:
                del self._buf[:len(self._buf) - self.limit]

    @property
    def dropped(self) -> int:
        """Bytes that came first and are no longer kept."""
        with self._lock:
            return self.total - len(self._buf)

    def since(self, offset: int) -> bytes | None:
        """The bytes after the first ``offset``; None when some of them are no longer kept."""
        with self._lock:
            start = self.total - len(self._buf)
            return None if offset < start else bytes(self._buf[offset - start:])

    def data(self) -> bytes:
        with self._lock:
            return bytes(self._buf)

    def text(self) -> str:
        return self.data().decode("utf-8", "replace")


class HostRun:
    """One host of a job: what the views show, and its cancel."""

    def __init__(self, job: "Job", label: str, target: Any = None, where: str = "", problem: str = ""):
        self.job, self.label, self.target = job, label, target
        self.where = where or (_where(target) if target is not None else label)
        self.state = "queued"
        self.exit_status: int | None = None
        self.error = problem  # a host whose target could not be made starts failed
        self.stdout, self.stderr = Tail(), Tail()
        self.started = self.finished = 0.0
        self.pid: int | None = None  # the remote shell's, once it said it
        self.cancelling = False
        self._session: Any = None

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def cancel(self) -> None:
        """Stop this host: a queued one never starts, a connecting one hangs up, a running one's
        remote process group is sent SIGTERM (then SIGKILL) by its thread. Never waits."""
        with self.job._lock:
            if self.ended or self.cancelling:
                return
            self.cancelling = True
            queued = self.state == "queued"
            session = self._session if self.state == "connecting" else None
        if queued:
            self._end("cancelled")
        elif session is not None:  # a question or a slow handshake: closed off this thread
            threading.Thread(target=session.close, daemon=True, name="job-hangup").start()

    # -- told by the host's thread (gridclient.remote_run) -------------------------------------
    def _begin(self) -> bool:
        with self.job._lock:
            if self.ended:
                return False
            self.state, self.started = "connecting", time.time()
        self.job._changed(self, urgent=True)
        return True

    def _state(self, state: str) -> None:
        with self.job._lock:
            if self.ended:
                return
            self.state = state
        self.job._changed(self, urgent=True)

    def _output(self, stream: str, data: bytes) -> None:
        (self.stdout if stream == "stdout" else self.stderr).add(data)
        self.job._changed(self)

    def _end(self, state: str, error: str = "") -> None:
        with self.job._lock:
            if self.ended:
                return
            self.state, self.error, self.finished = state, error or self.error, time.time()
            self._session = None
        self.job._host_ended(self)

    def to_dict(self) -> dict[str, Any]:
        out, err = self.stdout, self.stderr
        return {"label": self.label, "where": self.where, "state": self.state,
                "exit_status": self.exit_status, "error": self.error, "started": self.started,
                "finished": self.finished,
                "stdout": out.data()[-SAVED_BYTES:].decode("utf-8", "replace"), "stdout_total": out.total,
                "stderr": err.data()[-SAVED_BYTES:].decode("utf-8", "replace"), "stderr_total": err.total}


class Job:
    """A command (or a script) on some hosts; its state is its hosts'."""

    def __init__(self, command: str = "", script: bytes | None = None, script_name: str = "",
                 title: str = "", id: str = "", created: float = 0.0):
        self.id = id or uuid.uuid4().hex[:12]
        self.command, self.script, self.script_name = command, script, script_name
        self.title = title or _title(command, script_name)
        self.created = created or time.time()
        self.finished = 0.0
        self.hosts: list[HostRun] = []
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._owner: "RemoteJobs | None" = None
        self.restored = False  # read back from the history file

    @property
    def state(self) -> str:
        """queued, running (while any host is not ended), then failed (one failed), cancelled
        (one cancelled, none failed) or done."""
        states = [h.state for h in self.hosts]
        if not states:
            return "done"
        if all(s == "queued" for s in states):
            return "queued"
        if any(s not in ENDED for s in states):
            return "running"
        if "failed" in states:
            return "failed"
        return "cancelled" if "cancelled" in states else "done"

    @property
    def ended(self) -> bool:
        return all(h.ended for h in self.hosts)

    def count(self, *states: str) -> int:
        return sum(1 for h in self.hosts if h.state in states)

    def cancel(self) -> None:
        for host in list(self.hosts):
            host.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _changed(self, host: HostRun, urgent: bool = False) -> None:
        if self._owner is not None:
            self._owner._tell(self, save=urgent)

    def _host_ended(self, host: HostRun) -> None:
        with self._lock:
            last = self.ended and not self._done.is_set()
            if last:
                self.finished = time.time()
        if last:
            self._done.set()
        self._changed(host, urgent=True)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "command": self.command, "script_name": self.script_name,
                "created": self.created, "finished": self.finished, "hosts": [h.to_dict() for h in self.hosts]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Job":
        job = cls(str(d.get("command", "")), None, str(d.get("script_name", "")), str(d.get("title", "")),
                  str(d["id"]), float(d.get("created") or 0) or 1.0)
        job.finished = float(d.get("finished") or 0)
        for h in d.get("hosts", []):
            host = HostRun(job, str(h["label"]), where=str(h.get("where", "")))
            host.state = str(h.get("state", "failed"))
            host.exit_status = h.get("exit_status") if isinstance(h.get("exit_status"), int) else None
            host.error = str(h.get("error", ""))
            host.started, host.finished = float(h.get("started") or 0), float(h.get("finished") or 0)
            if host.state not in ENDED:  # the app closed while it ran
                host.state = "cancelled"
                host.error = "gridclient was closed while this ran."
                host.finished = host.finished or job.finished or job.created
            for name in ("stdout", "stderr"):
                data = str(h.get(name, "")).encode("utf-8")
                setattr(host, name, Tail(KEEP_BYTES, data, int(h.get(f"{name}_total") or len(data))))
            job.hosts.append(host)
        job.finished = job.finished or max((h.finished for h in job.hosts), default=job.created)
        job._done.set()
        job.restored = True
        return job


class RemoteJobs:
    """The jobs of this workspace: submitted, running and kept; see the module's text."""

    def __init__(self, history_file: Path | None, known_hosts: Any, parallel: int = PARALLEL):
        self.file = history_file
        self.known_hosts = known_hosts
        self.parallel = max(1, parallel)
        self.problems: list[str] = []
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Job], None]] = []
        self._pending: dict[str, Job] = {}
        self._dirty = False
        self._wake = threading.Event()
        self._closed = False
        self._teller: threading.Thread | None = None
        self._load()

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def on_change(self, fn: Callable[[Job], None]) -> None:
        """``fn(job)`` when a job is submitted, a host changes state or output arrives (on the
        teller thread, at most every TELL_EVERY seconds)."""
        self._listeners.append(fn)

    # -- running -------------------------------------------------------------------------------
    def submit(self, hosts: Iterable[Any], command: str = "", *, script: bytes | None = None,
               script_name: str = "", interaction: Any = None, title: str = "") -> Job:
        """Start a job at once; returns it. ``hosts``: SSHTargets, or (label, SSHTarget) pairs, or
        (label, sentence) pairs for a host that cannot be reached (it is shown failed)."""
        if script is None and not command.strip():
            raise ValueError("A command to run is needed.")
        if script is not None and len(script) > SCRIPT_LIMIT:
            raise ValueError(f"The script is larger than {SCRIPT_LIMIT >> 20} MB: copy it with a transfer instead.")
        job = Job(command, script, script_name, title)
        for spec in hosts:
            label, target = (spec if isinstance(spec, tuple) else (spec.title(), spec))
            if isinstance(target, str):
                job.hosts.append(HostRun(job, label, where=label, problem=target))
                job.hosts[-1].state = "failed"
            else:
                job.hosts.append(HostRun(job, label, target))
        if not job.hosts:
            raise ValueError("No host to run the command on.")
        job._owner = self
        with self._lock:
            self._jobs.append(job)
            self._trim()
        asker = _OneQuestionAtATime(interaction)
        todo: queue.SimpleQueue[HostRun] = queue.SimpleQueue()
        runnable = [h for h in job.hosts if not h.ended]
        for host in runnable:
            todo.put(host)
        if not runnable:
            job._host_ended(job.hosts[0])
        for n in range(min(self.parallel, len(runnable))):
            threading.Thread(target=self._worker, args=(job, todo, asker), daemon=True,
                             name=f"job {job.id} #{n}").start()
        self._tell(job, save=True)
        return job

    def _worker(self, job: Job, todo: "queue.SimpleQueue[HostRun]", asker: Any) -> None:
        from gridclient.remote_run import run_host

        while not self._closed:
            try:
                host = todo.get_nowait()
            except queue.Empty:
                return
            try:
                run_host(job, host, self.known_hosts, asker)
            except Exception as exc:  # noqa: BLE001 - never leave a host unfinished
                log.exception("job %s on %s", job.id, host.where)
                host._end("failed", f"{host.where}: {exc}.")

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        return job.wait(timeout)

    def remove(self, job: Job) -> bool:
        """Forget an ended job (False for one still running)."""
        if not job.ended:
            return False
        with self._lock:
            self._jobs = [j for j in self._jobs if j is not job]
        self.save()
        return True

    def remove_finished(self) -> list[Job]:
        with self._lock:
            gone = [j for j in self._jobs if j.ended]
            self._jobs = [j for j in self._jobs if not j.ended]
        self.save()
        return gone

    def _trim(self) -> None:
        ended = [j for j in self._jobs if j.ended]
        if len(ended) > KEEP_JOBS:
            old = {id(j) for j in ended[:len(ended) - KEEP_JOBS]}
            self._jobs = [j for j in self._jobs if id(j) not in old]

    # -- telling and saving --------------------------------------------------------------------
    def _tell(self, job: Job, save: bool = False) -> None:
        with self._lock:
            self._pending[job.id] = job
            self._dirty = self._dirty or save
            if self._teller is None and not self._closed:
                self._teller = threading.Thread(target=self._tell_loop, daemon=True, name="jobs-teller")
                self._teller.start()
        self._wake.set()

    def _tell_loop(self) -> None:
        saved = 0.0
        while not self._closed:
            self._wake.wait(SAVE_EVERY if self._dirty else None)
            self._wake.clear()
            with self._lock:
                jobs, self._pending = list(self._pending.values()), {}
            for job in jobs:
                for fn in list(self._listeners):
                    try:
                        fn(job)
                    except Exception:  # noqa: BLE001
                        log.exception("a jobs listener failed")
            if self._dirty and time.monotonic() - saved >= SAVE_EVERY:
                saved = time.monotonic()
                self.save()
            elif self._dirty:
                self._wake.set()  # saved soon, in a later round
            time.sleep(TELL_EVERY)

    def save(self) -> None:
        """Write the history now (atomically); errors are logged, never raised."""
        if self.file is None:
            return
        with self._lock:
            self._dirty = False
            jobs = list(self._jobs)
        data = {"schema": 1, "jobs": [j.to_dict() for j in jobs[-KEEP_JOBS:]]}
        try:
            with _SAVING:
                atomic_write_text(self.file, json.dumps(data, indent=1))
        except OSError as exc:
            log.warning("the job history could not be written to %s: %s", self.file, exc)

    def _load(self) -> None:
        if self.file is None or not self.file.exists():
            return
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
                raise ValueError("it holds no list of jobs")
            self._jobs = [Job.from_dict(d) for d in data["jobs"]][-KEEP_JOBS:]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            self._jobs = []
            aside = self.file.with_name(f"{self.file.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.file, aside)
                kept = f"It was kept as {aside.name}"
            except OSError:
                kept = "It could not be moved aside"
            self.problems.append(f"The job history {self.file} could not be read ({exc}). {kept}; "
                                 "the list of jobs starts empty.")
            log.warning(self.problems[-1])
        for job in self._jobs:
            job._owner = self

    def shutdown(self) -> None:
        """Cancel what runs (its threads send the signals while they can), keep the history."""
        for job in self.jobs:
            if not job.ended:
                job.cancel()
        for job in self.jobs:  # a host stopped with the app is told so in the history
            for host in job.hosts:
                if not host.ended and not host.error:
                    host.error = "gridclient was closed while this ran."
        self._closed = True
        self._wake.set()
        self.save()


_SAVING = threading.Lock()  # one writer of a history file at a time (the teller, a removal, shutdown)


class _OneQuestionAtATime:
    """A job's Interaction for its hosts' threads: one question shown at a time, and an unknown
    host key answered once for the job (the same text: the same address and fingerprint), so eight
    connections to one new server ask once. With no interaction, nothing is accepted."""

    def __init__(self, interaction: Any):
        self.interaction = interaction
        self._lock = threading.Lock()
        self._said: dict[tuple[str, str], bool] = {}

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        with self._lock:
            if (title, text) not in self._said:
                who = self.interaction
                self._said[(title, text)] = bool(who.confirm(title, text, default=default)) if who else False
            return self._said[(title, text)]

    def ask(self, title: str, fields: list, *, text: str = "") -> dict | None:
        with self._lock:
            return self.interaction.ask(title, fields, text=text) if self.interaction else None

    def notify(self, level: str, title: str, text: str) -> None:
        if self.interaction is not None:
            self.interaction.notify(level, title, text)


def _where(target: Any) -> str:
    user = f"{target.user}@" if target.user else ""
    port = f":{target.port}" if target.port and target.port != 22 else ""
    return f"{user}{target.host}{port}"


def _title(command: str, script_name: str) -> str:
    if script_name:
        return f"Script {script_name}"
    lines = command.strip().splitlines() or [""]
    return lines[0] if len(lines) == 1 and len(lines[0]) <= 80 else lines[0][:77] + " …"
