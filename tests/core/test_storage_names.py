"""gridclient.storage.names: remote names mapped to safe, unique local names inside the target.

Every hostile name is really written under a tmp_path target, so the local file system is the
judge of whether the name is acceptable, and the files' contents show that no two remotes landed
on the same local file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gridclient.storage.names import LocalNames, Renamed, safe_segment
from tests.qt_free import run_without_qt


@pytest.fixture
def target(tmp_path: Path) -> Path:
    t = tmp_path / "target"
    t.mkdir()
    return t


def land(names: LocalNames, remote: str) -> Path:
    """Map ``remote``, check the answer is strictly inside the target, write it, read it back."""
    path = names.local_path(remote)
    root = names.target.resolve()
    assert root in path.resolve().parents, (remote, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = remote.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    assert path.read_bytes() == data
    return path


def reason_for(names: LocalNames, remote: str) -> str:
    found = [r for r in names.renamed if r.remote == remote]
    assert len(found) == 1, (remote, names.renamed)
    return found[0].reason


def rel(names: LocalNames, path: Path) -> str:
    return path.relative_to(names.target).as_posix()


LONG_ASCII = "x" * 296 + ".txt"  # 300 bytes
LONG_EURO = "a" + "€" * 100  # 301 bytes, mostly 3-byte UTF-8 characters

HOSTILE = [  # remote, a part of the recorded reason, the local relative path (posix) when fixed
    ("../../etc/passwd", "“..” segment removed", "etc/passwd"),
    ("/abs/x", "absolute path made relative", "abs/x"),
    ("a/../../b", "“..” segment removed", "a/b"),
    ("C:\\evil\\x", "absolute path made relative", "evil_x"),
    ("a\\..\\..\\b", "backslash replaced", "a_.._.._b"),
    ("line\nbreak", "control characters replaced", "line_break"),
    ("nul\x00byte", "control characters replaced", "nul_byte"),
    ("\x1b[31mred", "control characters replaced", "_[31mred"),
    ("c1\x9bcsi", "control characters replaced", "c1_csi"),
    ("bad\udcffbyte", "undecodable characters replaced", "bad_byte"),
    (LONG_ASCII, "name too long: shortened", None),
    (LONG_EURO, "name too long: shortened", None),
    ("CON", "reserved name on Windows", "CON_"),
    ("nul.txt", "reserved name on Windows", "nul_.txt"),
    ("dir/com1.tar.gz", "reserved name on Windows", "dir/com1_.tar.gz"),
    (".", "empty", "_"),
    ("..", "“..” segment removed", "_"),
    ("", "empty", "_"),
    ("...", "dots or spaces", "_"),
    ("a/./b//c", "empty or “.” segment removed", "a/b/c"),
]


@pytest.mark.parametrize(("remote", "reason", "expected"), HOSTILE, ids=repr)
def test_a_hostile_name_lands_inside_the_target_and_is_reported(target, remote, reason, expected):
    names = LocalNames(target)
    path = land(names, remote)
    if expected is not None:
        assert rel(names, path) == expected
    assert reason in reason_for(names, remote)
    assert names.renamed[0].local == os.sep.join(path.relative_to(target).parts)
    assert list(target.parent.iterdir()) == [target]  # nothing written beside the target


def test_all_hostile_names_into_one_folder_stay_distinct(target):
    names = LocalNames(target)
    paths = [land(names, remote) for remote, _, _ in HOSTILE]
    assert len(set(paths)) == len(paths)
    for (remote, _, _), path in zip(HOSTILE, paths):  # no later write overwrote an earlier one
        assert path.read_bytes() == remote.encode("utf-8", "surrogatepass")
    assert {r.remote for r in names.renamed} == {remote for remote, _, _ in HOSTILE}
    assert list(target.parent.iterdir()) == [target]


def test_a_plain_key_maps_as_is_and_is_not_reported(target):
    names = LocalNames(target)
    path = land(names, "docs/report.pdf")
    assert path == target / "docs" / "report.pdf"
    assert names.local_path("docs/report.pdf") == path  # cached
    assert names.local_path("docs/") == target / "docs"  # a folder key is the same folder
    assert land(names, "docs/sub/notes.txt") == target / "docs" / "sub" / "notes.txt"
    assert names.renamed == []


def test_long_names_are_shortened_within_the_limit_keeping_the_extension(target):
    names = LocalNames(target)
    assert names.max_name_bytes == 255  # PC_NAME_MAX of the tmp file system
    ascii_name = land(names, LONG_ASCII).name
    assert len(ascii_name.encode()) <= 255 and ascii_name.endswith(".txt") and "~" in ascii_name
    euro = land(names, LONG_EURO).name
    assert len(euro.encode()) <= 255 and "~" in euro
    assert euro.split("~")[0] == "a" + "€" * 81  # 245 bytes allowed: cut before the 82nd €


def test_two_long_names_with_the_same_beginning_stay_distinct(target):
    names = LocalNames(target)
    first, second = "y" * 300 + "-first.csv", "y" * 300 + "-second.csv"
    a, b = land(names, first), land(names, second)
    assert a != b and a.suffix == b.suffix == ".csv"
    assert a.read_bytes() == first.encode() and b.read_bytes() == second.encode()
    assert "name too long: shortened" in reason_for(names, first)
    assert "clashes" not in reason_for(names, second)  # the hash kept them apart, not " (2)"


def test_names_that_become_the_same_get_numbered(target):
    names = LocalNames(target)
    assert rel(names, land(names, "a\nb")) == "a_b"
    assert rel(names, land(names, "a\rb")) == "a_b (2)"
    assert "clashes with another name" in reason_for(names, "a\rb")
    assert rel(names, land(names, "r\n.txt")) == "r_.txt"
    assert rel(names, land(names, "r\r.txt")) == "r_ (2).txt"  # before the extension
    assert [rel(names, land(names, r)) for r in (".", "..", "")] == ["_", "_ (2)", "_ (3)"]


def test_a_numbered_name_at_the_length_limit_still_fits(target):
    names = LocalNames(target)
    a, b = land(names, "z" * 254 + "\n"), land(names, "z" * 254 + "\r")
    assert a.name == "z" * 254 + "_"
    assert b.name.endswith(" (2)") and len(b.name.encode()) <= 255
    assert "clashes with another name" in reason_for(names, "z" * 254 + "\r")


def test_a_name_used_as_a_file_and_as_a_folder(target):
    names = LocalNames(target)
    assert rel(names, land(names, "a")) == "a"
    assert rel(names, land(names, "a/b")) == "a (2)/b"
    assert rel(names, land(names, "a/c")) == "a (2)/c"  # the same renamed folder
    assert "clashes with another name" in reason_for(names, "a/b")
    assert rel(names, land(names, "d/e")) == "d/e"
    assert rel(names, land(names, "d")) == "d (2)"
    assert "clashes with another name" in reason_for(names, "d")
    assert (target / "a").read_bytes() == b"a" and (target / "d" / "e").read_bytes() == b"d/e"


def test_a_symlink_inside_the_target_pointing_out_is_refused(tmp_path, target):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"keep")
    (target / "link").symlink_to(outside, target_is_directory=True)
    (target / "file-link").symlink_to(outside / "secret")
    for remote in ("link/x", "link/secret", "file-link", "link"):
        with pytest.raises(ValueError, match="would land outside"):
            LocalNames(target).local_path(remote)
    names = LocalNames(target)
    with pytest.raises(ValueError, match="would land outside"):
        names.local_path("link/x")
    with pytest.raises(ValueError, match="would land outside"):
        names.local_path("link/x")  # the cached answer is checked again
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"keep"
    (target / "inside").mkdir()
    (target / "in-link").symlink_to(target / "inside", target_is_directory=True)
    assert land(names, "in-link/ok") == target / "in-link" / "ok"  # a link that stays in is fine


def test_a_target_that_is_a_symlink_itself_is_fine(tmp_path, target):
    (tmp_path / "via").symlink_to(target, target_is_directory=True)
    names = LocalNames(tmp_path / "via")
    assert land(names, "x/y") == tmp_path / "via" / "x" / "y"
    assert (target / "x" / "y").read_bytes() == b"x/y"


def test_a_target_that_does_not_exist_yet(tmp_path):
    names = LocalNames(tmp_path / "new" / "folder")
    assert 0 < names.max_name_bytes <= 255
    assert names.local_path("../x") == tmp_path / "new" / "folder" / "x"
    assert not (tmp_path / "new").exists()  # nothing created on disk


def test_safe_segment_rules():
    assert safe_segment("report.pdf") == ("report.pdf", [])
    assert safe_segment("a\\b") == ("a_b", ["backslash replaced"])
    assert safe_segment("Aux") == ("Aux_", ["reserved name on Windows"])
    assert safe_segment("lpt9.x.y")[0] == "lpt9_.x.y"
    assert safe_segment("console")[0] == "console"  # only the exact device names
    assert safe_segment(" . ")[0] == "_"
    assert safe_segment("x" * 40 + ".bin", max_bytes=30)[0].endswith(".bin")
    assert len(safe_segment("x" * 40 + "." + "e" * 20, max_bytes=30)[0]) <= 30  # long ext dropped
    assert safe_segment("x" * 40, max_bytes=30)[0] != safe_segment("x" * 41, max_bytes=30)[0]


def test_windows_rules_apply_only_on_windows():
    assert safe_segment('a:b*c?"<>|', windows=True)[0] == "a_b_c_____"
    assert safe_segment("name. .", windows=True) == ("name", ["trailing dots or spaces removed"])
    assert safe_segment("con .txt ", windows=True)[0] == "con _.txt"
    assert safe_segment("a:b", windows=False) == ("a:b", [])
    assert safe_segment("name. ", windows=False) == ("name. ", [])


def test_renamed_is_a_frozen_record(target):
    names = LocalNames(target)
    names.local_path("/x")
    names.local_path("/x")  # asked again: reported once
    assert names.renamed == [Renamed("/x", "x", "absolute path made relative")]
    with pytest.raises(AttributeError):
        names.renamed[0].local = "y"


def test_the_module_is_qt_free():
    proc = run_without_qt("import gridclient.storage.names")
    assert proc.returncode == 0, proc.stderr
