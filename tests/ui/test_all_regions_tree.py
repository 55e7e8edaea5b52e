"""Computing → All regions in the window's tree, against moto over HTTP: expanded as a click on its
expander does, it shows each region's heading with that region's instances under it."""

from __future__ import annotations

import pytest

from tests.ui.test_main_window import open_in_tree, project_on_moto
from tests.ui.test_project_model import child_by_label, labels

pytest.importorskip("moto.server")


from tests.ui.test_main_window import window  # noqa: E402,F401 - the fixture, shared


def test_expanding_all_regions_shows_each_regions_rows_under_its_heading(qtbot, window, moto, boto):
    image = "ami-760aaa0f"
    for region, name in (("us-east-1", "home-1"), ("eu-west-1", "eu-web")):
        boto("ec2", region).run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    model = window.model
    computing = child_by_label(model, project_on_moto(window, moto, "Everywhere"), "Computing")
    open_in_tree(qtbot, window, computing)
    assert labels(model, computing) == ["All regions", "home-1"]  # Computing itself: the VO's region

    everywhere = child_by_label(model, computing, "All regions")
    # every region moto knows is asked (moto sets each up on its first call): more than 20 s allowed
    with qtbot.waitSignal(model.loadFinished, timeout=90000,
                          check_params_cb=lambda i: model.node(i) is model.node(everywhere)):
        window.tree.expand(everywhere)
    shown = labels(model, everywhere)
    eu = shown.index("eu-west-1 — 1 instance")
    assert shown[eu + 1] == "eu-web"
    home = shown.index("us-east-1 — 1 instance")
    assert shown[home + 1] == "home-1"
    assert shown[-1].startswith("No instance in ")  # the regions with none, in one row
    row = child_by_label(model, everywhere, "eu-web")
    assert model.element(row).ref["region"] == "eu-west-1"
