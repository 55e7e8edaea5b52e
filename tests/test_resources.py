"""Packaged resources: every icon is a well-formed 16x16 SVG, the names the app uses exist, the .desktop entry."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest

from gridclient.registry import ExtensionRegistry

SVG_NS = "{http://www.w3.org/2000/svg}"

REQUIRED = """
project vo computing services storage instance instance-running instance-stopped instance-pending
instance-stopping instance-shutting-down instance-terminated images image catalog keys key firewall
regions region volume bucket folder file info error loading terminal start stop reboot terminate
search refresh gridclient console operations properties retry ssh
""".split()

# every state EC2 reports; providers/aws/nodes.py names the icon f"instance-{state}"
EC2_STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")


def icon_dir():
    return files("resources") / "icons"


def svg_files():
    return sorted((p for p in icon_dir().iterdir() if p.name.endswith(".svg")), key=lambda p: p.name)


def test_every_required_icon_exists():
    present = {p.name[:-4] for p in svg_files()}
    missing = sorted(set(REQUIRED) - present)
    assert not missing, f"missing icons: {missing}"
    assert {f"instance-{s}" for s in EC2_STATES} <= present


@pytest.mark.parametrize("path", svg_files(), ids=lambda p: p.name)
def test_icon_is_a_self_contained_16px_svg(path):
    root = ET.fromstring(path.read_bytes())  # raises ParseError on malformed XML
    assert root.tag == f"{SVG_NS}svg", f"{path.name}: root is {root.tag}"
    assert root.get("viewBox", "").split() == ["0", "0", "16", "16"], f"{path.name}: viewBox {root.get('viewBox')!r}"
    drawn = [el for el in root.iter() if el.tag in {f"{SVG_NS}{t}" for t in
                                                    ("path", "rect", "circle", "ellipse", "polygon", "line")}]
    assert drawn, f"{path.name} draws nothing"
    for el in root.iter():
        tag = el.tag.removeprefix(SVG_NS)
        # fonts differ between machines, scripts and external files have no place in an icon
        assert tag not in {"text", "script", "image", "foreignObject"}, f"{path.name} uses <{tag}>"
        assert not any(k.endswith("href") for k in el.attrib), f"{path.name} references another file"


def test_every_icon_the_builtin_providers_name_exists():
    reg = ExtensionRegistry().discover()
    present = {p.name[:-4] for p in svg_files()}
    named = {a.icon for a in reg.actions.values() if a.icon}
    named |= {c.icon for vo_type in reg.vo_types for c in reg.categories(vo_type) if c.icon}
    assert named, "the built-in provider contributed no icons; the registry did not load"
    assert not sorted(named - present), f"icons named by providers but not packaged: {sorted(named - present)}"


def test_desktop_entry():
    text = (files("resources") / "gridclient.desktop").read_text(encoding="utf-8")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in .desktop files
    parser.read_string(text)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "gridclient"
    assert entry["Exec"] == "gridclient"
    assert entry["Icon"] == "gridclient"
    assert set(entry["Categories"].rstrip(";").split(";")) == {"Network", "Development"}
    assert entry["Categories"].endswith(";")
    assert (icon_dir() / f"{entry['Icon']}.svg").is_file()
