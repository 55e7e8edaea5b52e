"""S3 object rows in the tree are packed (providers/aws/s3_rows.py): the tree, Properties and
tooltips show them as any row, the row's Node is found from either column, and a warm start
makes the same rows from the cache, which a revalidation finds unchanged."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.docks import PropertiesView
from ui.project_model import ProjectModel
from ui.worker import io_pool


def child(model, parent, label):
    for row in range(model.rowCount(parent)):
        idx = model.index(row, 0, parent)
        if model.element(idx).label == label:
            return idx
    raise AssertionError(f"{label!r} not under {model.element(parent).label!r}")


def expand(qtbot, model, index):
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(index)):
        model.fetchMore(index)


def open_bucket(qtbot, model):
    storage = model.index(2, 0, model.index(0, 0))
    expand(qtbot, model, storage)
    bucket = child(model, storage, "alpha-bucket")
    expand(qtbot, model, bucket)
    return bucket


@pytest.fixture
def model(qtbot, workbench):
    m = ProjectModel(workbench)
    yield m
    io_pool().waitForDone(10000)


def test_an_object_row_shows_as_before(qtbot, qtmodeltester, model, cloud, boto):
    from providers.aws.s3_rows import ObjectElement

    bucket = open_bucket(qtbot, model)
    row = child(model, bucket, "readme.md")
    el = model.element(row)
    assert isinstance(el, ObjectElement)
    assert model.node(row) is model.node(row.siblingAtColumn(1)) and model.node(row).element is el
    assert model.data(row) == "readme.md"
    assert model.data(row.siblingAtColumn(1)).startswith("9 B · ")
    # a storage row keeps Qt's default flags: it can be dragged
    assert model.flags(row) & Qt.ItemFlag.ItemIsDragEnabled
    assert model.tooltip(row) == "readme.md\naws.s3.object · s3://alpha-bucket/readme.md"

    props = PropertiesView()
    qtbot.addWidget(props)
    props.show_element(el)
    shown = {props.item(r, 0).text(): props.item(r, 1).text() for r in range(props.rowCount())}
    head = boto("s3").head_object(Bucket="alpha-bucket", Key="readme.md")
    assert shown["Name"] == "readme.md" and shown["Id"] == "s3://alpha-bucket/readme.md"
    assert shown["Key"] == "readme.md" and shown["Size"] == "9" and shown["ETag"] == head["ETag"]
    assert list(shown)[3:] == ["Key", "Size", "LastModified", "ETag", "StorageClass"]
    assert el.ref == {"bucket": "alpha-bucket", "key": "readme.md", "uri": "s3://alpha-bucket/readme.md"}
    qtmodeltester.check(model)


def test_a_warm_start_makes_the_same_rows_and_revalidation_changes_none(qtbot, workbench, cloud, monkeypatch):
    import ui.project_rows as rows_module
    from providers.aws.s3_rows import ObjectElement
    from ui.project_rows import Changes

    first = ProjectModel(workbench)
    open_bucket(qtbot, first)
    io_pool().waitForDone(10000)

    seen: list = []
    prepare = rows_module.prepare

    def spy(ticket, event):
        out = prepare(ticket, event)
        seen.append(out)
        return out

    monkeypatch.setattr(rows_module, "prepare", spy)
    again = ProjectModel(workbench)  # as after a restart: the cache knows the bucket
    bucket = open_bucket(qtbot, again)
    readme = again.element(child(again, bucket, "readme.md"))
    assert isinstance(readme, ObjectElement)
    changes = [c for c in seen if isinstance(c, Changes)]  # Storage's, then the bucket's revalidation
    assert len(changes) == 2 and all(not c.changed and not c.removed and not c.added for c in changes)
    io_pool().waitForDone(10000)


def test_a_big_listing_goes_in_by_batches_with_a_pause_while_other_work_runs_between(qtbot, model, cloud,
                                                                                      monkeypatch):
    import time

    from PySide6.QtCore import QTimer

    import ui.project_model as pm
    from providers.aws.s3_rows import object_element
    from ui.project_rows import build_rows

    # a batch is CHUNK rows, fewer while rows take long to go in (the GIL shared with a busy worker)
    model._row_cost = 1e-6
    assert model._batch_size() == pm.CHUNK
    model._row_cost = 1e-3  # 1 ms a row: a batch of CHUNK would take half a second
    assert model._batch_size() == pm.CHUNK_MIN
    monkeypatch.setattr(pm, "CHUNK", 4)
    monkeypatch.setattr(pm, "CHUNK_MIN", 1)
    model._row_cost = 1e-6
    bucket = open_bucket(qtbot, model)
    node = model.node(bucket)
    delays: list[int] = []
    start = model._drain.start
    model._drain.start = lambda msec=0: (delays.append(msec), start(msec))
    inserted: list[int] = []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append(last - first + 1)
                               if model.node(parent) is node else None)

    def page(names: list[str]) -> None:
        """A page of rows, as a listing hands it over; waits until all of it is in."""
        shown = model.rowCount(bucket)
        model._on_rows(node, build_rows(node, [object_element("alpha-bucket", "", {"Key": k}) for k in names]))
        qtbot.waitUntil(lambda: not node.queued, timeout=5000)
        assert [model.element(model.index(r, 0, bucket)).label for r in range(shown, model.rowCount(bucket))] == names

    page([f"a{i:02d}.txt" for i in range(30)])
    assert inserted == [4] * 7 + [2]  # 4 rows a turn
    # nothing else ran between the batches: no wait (a hiccup of the machine may make one)
    assert len(delays) == 7 and delays[0] == 0 and delays.count(0) >= 5

    # other work between the batches (a view laying out a big folder again): a wait before each next one
    busy = QTimer()
    busy.setInterval(0)
    busy.timeout.connect(lambda: time.sleep(0.01))
    busy.start()
    delays.clear()
    page([f"b{i:02d}.txt" for i in range(30)])
    busy.stop()
    assert delays[0] == 0 and set(delays[1:]) == {pm.PAUSE_MS}
