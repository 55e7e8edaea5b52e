"""The extension registry: entry-point discovery, lazy code, broken providers, checks at registration."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from gridclient.elements import Element
from gridclient.registry import Action, ContributionError, ExtensionRegistry, ProviderManifest, resolve


def load(reg: ExtensionRegistry, name: str, value: str):
    ep = EntryPoint(name=name, value=value, group="gridclient.providers")
    return reg.load_entry_point(ep.name, ep.value, ep.load)


def test_builtin_aws_provider_comes_through_the_entry_point():
    reg = ExtensionRegistry().discover()
    rec = next(r for r in reg.providers if r.ok and r.manifest.id == "aws")
    assert rec.entry_point.startswith("aws = providers.aws:manifest")
    assert "aws" in reg.vo_types and "aws.ec2.terminate" in reg.actions


def test_every_named_reference_imports():
    reg = ExtensionRegistry().discover()
    load(reg, "sample", "tests.sample_provider:manifest")
    refs = list(reg.all_references())
    assert len(refs) > 15
    for ref in refs:
        assert resolve(ref) is not None, ref


def test_broken_provider_is_listed_with_its_error_and_the_rest_loads():
    reg = ExtensionRegistry()
    bad = load(reg, "broken", "tests.no_such_module:manifest")
    good = load(reg, "sample", "tests.sample_provider:manifest")
    assert not bad.ok and "No module named 'tests.no_such_module'" in bad.error
    assert good.ok and "sample" in reg.vo_types


def test_contributions_are_checked_when_they_register():
    reg = ExtensionRegistry()
    with pytest.raises(ContributionError, match="module:attr"):
        reg.register(ProviderManifest("x", "x", actions=(Action("x.a", "A", "no_colon", frozenset({"k"})),)))
    with pytest.raises(ContributionError, match="selection"):
        reg.register(ProviderManifest("y", "y", actions=(Action("y.a", "A", "m:f", frozenset({"k"}), selection="2"),)))
    load(reg, "sample", "tests.sample_provider:manifest")
    rec = load(reg, "sample-again", "tests.sample_provider:manifest")
    assert not rec.ok and "twice" in rec.error


def test_actions_by_kind_count_and_state():
    reg = ExtensionRegistry().discover()
    running = Element("aws.ec2.instance", "i-1", "a", state="running")
    stopped = Element("aws.ec2.instance", "i-2", "b", state="stopped")
    bucket = Element("aws.s3.bucket", "b", "b")
    ids = {a.id for a in reg.actions_for([running])}
    assert {"aws.ec2.ssh", "aws.ec2.stop", "aws.ec2.start"} <= ids
    assert reg.actions["aws.ec2.stop"].enabled_for([running])
    assert not reg.actions["aws.ec2.stop"].enabled_for([stopped])
    assert not reg.actions["aws.ec2.ssh"].applies_to([running, running])  # selection "1"
    assert reg.actions["aws.ec2.terminate"].enabled_for([running, stopped])  # selection "+"
    assert not reg.actions_for([bucket, running])


def test_startup_imports_neither_boto3_nor_paramiko():
    code = ("import sys\nfrom gridclient.registry import ExtensionRegistry\n"
            "reg = ExtensionRegistry().discover()\nassert reg.vo_types\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'paramiko', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_core_and_providers_import_with_pyside6_blocked():
    code = (
        "import sys, importlib, pkgutil\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'PySide6' or name.startswith('PySide6.') or name in ('shiboken6', 'qtpy'):\n"
        "            raise ImportError('PySide6 is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import gridclient, providers\n"
        "names = []\n"
        "for pkg in (gridclient, providers):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if m.name == 'gridclient.__main__':\n"
        "            continue\n"
        "        importlib.import_module(m.name)\n"
        "        names.append(m.name)\n"
        "print(len(names), 'PySide6' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    count, qt = out.stdout.split()
    assert int(count) >= 10 and qt == "False"
