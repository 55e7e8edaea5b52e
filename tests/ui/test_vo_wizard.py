"""The VO wizard says what is true where the person stands: where secrets go, what the test checks,
and where to change settings that failed (in the wizard: Back, not Edit → Preferences)."""

from __future__ import annotations

import pytest

from gridclient.registry import ExtensionRegistry
from gridclient.workbench import Workbench
from tests.fixtures.workspace import load_provider
from tests.ui.test_main_window import fill_wizard, set_auth
from ui.vo_wizard import VOWizard
from ui.worker import io_pool


@pytest.fixture
def wb(app_paths, keyring_backend):
    """A Workbench on the installed providers and the sample one, secrets in the encrypted file keyring."""
    registry = ExtensionRegistry().discover()
    load_provider(registry, "sample", "tests.sample_provider:manifest")
    bench = Workbench(app_paths, registry=registry)
    yield bench
    io_pool().waitForDone(10000)
    bench.close()


def wizard_for(qtbot, wb: Workbench, type_label: str) -> VOWizard:
    wiz = VOWizard(wb)
    qtbot.addWidget(wiz)
    types = wiz.type_page.types
    labels = [types.item(i).text() for i in range(types.count())]
    types.setCurrentRow(labels.index(type_label))
    return wiz


def test_the_fields_page_names_the_encrypted_file_keyring(qtbot, wb):
    wiz = wizard_for(qtbot, wb, "Amazon Web Services / EC2-compatible")
    fill_wizard(qtbot, wiz, "Filed", {"access_key_id": "AKID", "secret_access_key": "s"})
    subtitle = wiz.fields_page.subTitle()
    assert "Secrets go to the encrypted file keyring" in subtitle
    assert "system keyring" not in subtitle


@pytest.mark.parametrize(("type_label", "said"), [
    ("Amazon Web Services / EC2-compatible", "Checks the credentials with STS GetCallerIdentity"),
    ("Sample cloud", "Asks the sample cloud who you are."),
])
def test_the_test_page_says_what_the_vo_type_checks(qtbot, wb, type_label, said):
    wiz = wizard_for(qtbot, wb, type_label)
    fill_wizard(qtbot, wiz, "Checked", {"access_key_id": "AKID", "secret_access_key": "s", "region": "zone-1"})
    wiz.next()
    assert wiz.currentPage() is wiz.test_page
    assert wiz.test_page.subTitle().startswith(said)


def test_a_refused_key_in_the_wizard_says_go_back(qtbot, wb, moto):
    wiz = wizard_for(qtbot, wb, "Amazon Web Services / EC2-compatible")
    fill_wizard(qtbot, wiz, "Refused", {"region": "us-east-1", "access_key_id": "AKIDWRONG",
                                        "secret_access_key": "nope", "endpoint_url": moto})
    wiz.next()
    set_auth(moto, "0")  # moto checks keys from now on: this one is unknown to it
    try:
        wiz.test_page.button.click()
        qtbot.waitUntil(lambda: wiz.test_page.ok is not None, timeout=20000)
    finally:
        set_auth(moto, "inf")
    text = wiz.test_page.result.text()
    assert wiz.test_page.ok is False and "not accepted" in text
    # the VO is not saved yet: Preferences does not list it, Back is where its key is changed
    assert text.endswith("Go Back to change them.")
    assert "Edit → Preferences" not in text
