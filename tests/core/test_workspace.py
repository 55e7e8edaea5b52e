"""Workspace persistence: atomic writes, corrupt files moved aside, secrets never in files."""

from __future__ import annotations

import json

import pytest
import os
import stat

from gridclient.workspace import GridProject, VirtualOrganization, Workspace


def test_round_trip_and_mode(app_paths):
    ws = Workspace(app_paths)
    vo = ws.add_vo(VirtualOrganization("lab", "sample", settings={"region": "eu-west-1"}))
    ws.add_project(GridProject("P1", vo.id))
    ws.add_project(GridProject("P2", vo.id))
    assert stat.S_IMODE(os.stat(ws.file).st_mode) == 0o600
    again = Workspace(app_paths)
    assert again.vos[vo.id].region == "eu-west-1"
    assert sorted(p.name for p in again.projects.values()) == ["P1", "P2"]
    assert not [p for p in ws.file.parent.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_file_is_moved_aside_and_the_app_starts(app_paths):
    ws = Workspace(app_paths)
    ws.add_vo(VirtualOrganization("lab", "sample"))
    ws.file.write_text('{"vos": [ {"name": "lab", "ty')  # cut off mid-write by something else
    again = Workspace(app_paths)
    assert again.vos == {} and again.projects == {}
    assert again.problems and "could not be read" in again.problems[0]
    aside = [p for p in ws.file.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_text().startswith('{"vos"')
    assert not ws.file.exists()
    again.add_vo(VirtualOrganization("fresh", "sample"))  # and it can be written again
    assert json.loads(ws.file.read_text())["vos"][0]["name"] == "fresh"


def test_bad_entries_are_skipped_and_the_rest_kept(app_paths):
    ws = Workspace(app_paths)
    good = ws.add_vo(VirtualOrganization("good", "sample"))
    data = json.loads(ws.file.read_text())
    data["vos"].append({"name": "bad", "unexpected": 1})
    ws.file.write_text(json.dumps(data))
    again = Workspace(app_paths)
    assert list(again.vos) == [good.id]
    assert any("skipped" in p for p in again.problems)


def test_name_checks(app_paths):
    ws = Workspace(app_paths)
    ws.add_vo(VirtualOrganization("taken", "sample"))
    assert ws.check_name("", ws.vos) == "A name is needed."
    assert "already used" in ws.check_name("taken", ws.vos)
    assert ws.check_name("new one", ws.vos) == ""
    assert "Use letters" in ws.check_name("a/b", ws.vos)


def test_wrong_shapes_are_told_in_words_and_nothing_half_read_is_kept(app_paths):
    ws = Workspace(app_paths)
    good = ws.add_vo(VirtualOrganization("good", "sample", settings={"region": "eu-west-1"}))
    data = json.loads(ws.file.read_text())
    data["vos"] += [{"name": "oops", "type": "sample", "settings": "oops"},
                    {"name": 5, "type": "sample"},
                    "not an object"]
    data["projects"] = {"p": {"name": "x", "vo": good.id}}
    ws.file.write_text(json.dumps(data))
    again = Workspace(app_paths)
    assert list(again.vos) == [good.id]
    assert all(vo.endpoint_url == "" and vo.region for vo in again.vos.values())  # every kept VO is whole
    text = "\n".join(again.problems)
    assert "entry 2 was skipped: its settings are not a set of named values" in text
    assert "entry 3 was skipped: its “name” is missing or not text" in text
    assert "entry 4 was skipped: it is not an object" in text
    assert "Grid Projects in the file are not a list" in text
    for jargon in ("argument after", "mapping", "TypeError", "object has no attribute"):
        assert jargon not in text
    # the damaged file was kept aside once and written back with what could be read: the next
    # start has nothing to say, and makes no second copy
    asides = sorted(p.name for p in app_paths.config.glob("workspace.json.corrupt-*"))
    assert len(asides) == 1
    assert "oops" in (app_paths.config / asides[0]).read_text()
    quiet = Workspace(app_paths)
    assert quiet.problems == [] and list(quiet.vos) == [good.id]
    assert sorted(p.name for p in app_paths.config.glob("workspace.json.corrupt-*")) == asides
    # a project bound to a VO that is gone
    data = json.loads(again.file.read_text())
    data["projects"] = [{"name": "orphan", "vo": "nope"}, {"name": "fine", "vo": good.id}]
    again.file.write_text(json.dumps(data))
    third = Workspace(app_paths)
    assert [p.name for p in third.projects.values()] == ["fine"]
    assert any("“orphan” is bound to a Virtual Organisation that is not in the workspace" in p
               for p in third.problems)


def test_one_app_per_workspace_and_no_stale_lock_after_a_crash(app_paths):
    import subprocess
    import sys

    from gridclient.paths import AlreadyRunning, WorkspaceLock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from gridclient.paths import AppPaths, WorkspaceLock\n"
         f"WorkspaceLock(AppPaths(*map(Path, {[str(app_paths.config), str(app_paths.cache), str(app_paths.data)]!r})))"
         ".acquire()\nprint('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning, match=f"already running with this workspace \\(process {holder.pid}\\)"):
            WorkspaceLock(app_paths).acquire()
    finally:
        holder.kill()  # as a crash would end it: no clean release
        holder.wait(30)
    lock = WorkspaceLock(app_paths).acquire()  # the OS dropped the lock with the process
    lock.release()
    WorkspaceLock(app_paths).acquire().release()
