"""The lazy project tree against moto over HTTP: pages on workers, errors per node, refresh."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from ui.project_model import ERROR, LOADING, ProjectModel
from ui.worker import io_pool


def child_by_label(model: ProjectModel, parent: QModelIndex, label: str) -> QModelIndex:
    for row in range(model.rowCount(parent)):
        idx = model.index(row, 0, parent)
        if model.element(idx).label == label:
            return idx
    raise AssertionError(f"{label!r} not under {model.element(parent).label!r}: "
                         f"{[model.element(model.index(r, 0, parent)).label for r in range(model.rowCount(parent))]}")


def expand(qtbot, model: ProjectModel, index: QModelIndex) -> None:
    """fetchMore as a view does on expand, then wait until the load has finished."""
    assert model.canFetchMore(index)
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(index)):
        model.fetchMore(index)
        # the GUI thread did not wait: a Loading… row is there at once
        kinds = [model.node(model.index(r, 0, index)).kind for r in range(model.rowCount(index))]
        assert LOADING in kinds


def labels(model, parent):
    return [model.element(model.index(r, 0, parent)).label for r in range(model.rowCount(parent))]


@pytest.fixture
def model(qtbot, workbench):
    m = ProjectModel(workbench)
    yield m
    io_pool().waitForDone(10000)


def test_three_categories_with_live_data(qtbot, qtmodeltester, model, cloud):
    project = model.index(0, 0)
    assert model.element(project).label == "Sandbox project"
    assert labels(model, project) == ["Computing", "Services", "Storage"]
    computing, services, storage = (model.index(r, 0, project) for r in range(3))
    # nothing is fetched before the node is expanded: it holds only the placeholder row that
    # gives it an expander
    assert model.hasChildren(computing) and model.canFetchMore(computing)
    assert model.node(computing).state == "idle"
    assert [model.node(model.index(r, 0, computing)).kind for r in range(model.rowCount(computing))] == [LOADING]
    expand(qtbot, model, computing)
    states = {model.element(model.index(r, 0, computing)).id: model.element(model.index(r, 0, computing)).state
              for r in range(model.rowCount(computing))}
    assert states[cloud["instances"][0]] == "running"
    assert states[cloud["instances"][1]] == "stopped"
    assert "web" in labels(model, computing)

    expand(qtbot, model, services)
    images = child_by_label(model, services, "My images (AMIs)")
    expand(qtbot, model, images)
    assert labels(model, images) == ["my-golden-image"]
    # the catalog does not download the public catalog on expand
    catalog = child_by_label(model, services, "Image catalog")
    expand(qtbot, model, catalog)
    assert model.rowCount(catalog) == 1 and "Fetch image catalog" in labels(model, catalog)[0]

    expand(qtbot, model, storage)
    bucket = child_by_label(model, storage, "alpha-bucket")
    expand(qtbot, model, bucket)
    assert labels(model, bucket) == ["docs/", "readme.md"]
    docs = child_by_label(model, bucket, "docs/")
    expand(qtbot, model, docs)
    assert labels(model, docs) == ["deep/", "a.txt", "b.txt"]
    obj = model.element(child_by_label(model, docs, "a.txt"))
    assert obj.properties["Size"] == len("docs/a.txt") and obj.properties["LastModified"]
    qtmodeltester.check(model, force_py=True)


def test_refresh_keeps_expansion_and_selection(qtbot, qtmodeltester, workbench, model, cloud, boto):
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QTreeView

    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(model)
    project = model.index(0, 0)
    storage = model.index(2, 0, project)
    expand(qtbot, model, storage)
    bucket = child_by_label(model, storage, "alpha-bucket")
    expand(qtbot, model, bucket)
    docs = child_by_label(model, bucket, "docs/")
    expand(qtbot, model, docs)
    view.expand(project)
    view.expand(storage)
    view.expand(bucket)
    view.expand(docs)
    selected = child_by_label(model, docs, "b.txt")
    view.selectionModel().setCurrentIndex(selected, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    docs_node = model.node(docs)

    s3 = boto("s3")
    s3.put_object(Bucket="alpha-bucket", Key="zeta.txt", Body=b"new")
    s3.delete_object(Bucket="alpha-bucket", Key="readme.md")
    with qtbot.waitSignal(model.loadFinished, timeout=20000):
        model.refresh(bucket)
    assert labels(model, bucket) == ["docs/", "zeta.txt"]
    docs = child_by_label(model, bucket, "docs/")
    assert model.node(docs) is docs_node  # the same node: its children and expansion stay
    assert view.isExpanded(docs) and view.isExpanded(bucket)
    assert model.element(view.currentIndex()).label == "b.txt"

    # a changed object keeps its row (and Node), and the row shows the new details
    zeta = child_by_label(model, bucket, "zeta.txt")
    zeta_node = model.node(zeta)
    s3.put_object(Bucket="alpha-bucket", Key="zeta.txt", Body=b"a much longer body than before")
    with qtbot.waitSignal(model.loadFinished, timeout=20000):
        model.refresh(bucket)
    zeta = child_by_label(model, bucket, "zeta.txt")
    assert model.node(zeta) is zeta_node
    assert zeta_node.element.properties["Size"] == len(b"a much longer body than before")
    assert zeta.siblingAtColumn(1).data() == zeta_node.element.detail != ""
    assert model.node(docs) is docs_node and view.isExpanded(docs)
    qtmodeltester.check(model, force_py=True)


def test_access_denied_on_storage_leaves_computing_working(qtbot, workbench, boto, moto, cloud):
    """A key allowed EC2 only: Storage becomes an error row with the reason, Computing loads."""
    import json
    import urllib.request

    iam = boto("iam")
    iam.create_user(UserName="ec2-only")
    iam.put_user_policy(UserName="ec2-only", PolicyName="ec2", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ec2-only")["AccessKey"]
    vo = next(iter(workbench.workspace.vos.values()))
    workbench.save_vo(vo.name, "aws", {**vo.settings, "access_key_id": key["AccessKeyId"],
                                       "secret_access_key": key["SecretAccessKey"]}, vo=vo)

    def set_auth(count: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(),
                                                      method="POST", headers={"Content-Type": "text/plain"})).read()

    set_auth("0")
    try:
        m = ProjectModel(workbench)
        project = m.index(0, 0)
        computing, storage = m.index(0, 0, project), m.index(2, 0, project)
        with qtbot.waitSignal(m.loadFailed, timeout=20000) as failed:
            m.fetchMore(storage)
        assert "Access denied" in failed.args[1]
        rows = [m.node(m.index(r, 0, storage)) for r in range(m.rowCount(storage))]
        assert [r.kind for r in rows] == [ERROR]
        assert "Access denied" in rows[0].element.label
        expand(qtbot, m, computing)
        assert m.rowCount(computing) == 3  # "All regions" and the two instances
        # Retry runs the load again (and fails again, with the same clear reason)
        with qtbot.waitSignal(m.loadFailed, timeout=20000):
            m.retry(m.index(0, 0, storage))
        assert m.node(m.index(0, 0, storage)).kind == ERROR
    finally:
        set_auth("inf")
        io_pool().waitForDone(10000)


def test_cached_listing_shows_first_then_revalidates(qtbot, workbench, cloud, boto):
    m1 = ProjectModel(workbench)
    storage = m1.index(2, 0, m1.index(0, 0))
    expand(qtbot, m1, storage)
    assert "beta-bucket" in labels(m1, storage)
    boto("s3").create_bucket(Bucket="gamma-bucket")
    # a new model (a restarted app) shows the cached buckets, then the live list
    m2 = ProjectModel(workbench)
    storage2 = m2.index(2, 0, m2.index(0, 0))
    seen: list[list[str]] = []
    # rows are filled (dataChanged) right after they go in
    m2.dataChanged.connect(lambda first, last, roles=(): seen.append(labels(m2, storage2)))
    with qtbot.waitSignal(m2.loadFinished, timeout=20000):
        m2.fetchMore(storage2)
    assert any("alpha-bucket" in s and "gamma-bucket" not in s for s in seen)
    assert "gamma-bucket" in labels(m2, storage2)
    io_pool().waitForDone(10000)


def test_reload_keeps_projects_whose_vo_did_not_change(qtbot, qtmodeltester, workbench, model, cloud):
    from gridclient.workspace import GridProject

    project = model.index(0, 0)
    node = model.node(project)
    computing = child_by_label(model, project, "Computing")
    expand(qtbot, model, computing)
    loaded = labels(model, computing)
    vo = workbench.workspace.vos[node.project.vo]
    # a second project is added elsewhere (Preferences, the console): it appears, the first stays as it was
    workbench.workspace.add_project(GridProject("Second", vo.id))
    model.reload_projects()
    assert [model.element(model.index(r, 0)).label for r in range(model.rowCount())] == [
        "Sandbox project", "Second", "Local files", "SSH connections"]
    assert model.node(model.index(0, 0)) is node and labels(model, computing) == loaded
    # the VO is edited: projects on it are rebuilt, showing the new name, nothing stale below
    workbench.save_vo("Renamed VO", vo.type, {**vo.settings, "secret_access_key": ""}, vo=vo)
    model.reload_projects()
    first = model.index(0, 0)
    assert model.node(first) is not node and model.element(first).detail.startswith("Renamed VO")
    assert model.canFetchMore(child_by_label(model, first, "Computing"))
    qtmodeltester.check(model, force_py=True)


def test_a_failed_refresh_keeps_the_rows_and_says_they_are_not_up_to_date(qtbot, model, moto, cloud):
    import urllib.request

    def set_auth(count: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(),
                                                      method="POST", headers={"Content-Type": "text/plain"})).read()

    computing = model.index(0, 0, model.index(0, 0))
    expand(qtbot, model, computing)
    before = labels(model, computing)
    detail = lambda: model.data(computing.siblingAtColumn(1))  # noqa: E731
    assert "not up to date" not in (detail() or "")
    set_auth("0")  # the VO's key is now refused
    try:
        with qtbot.waitSignal(model.loadFailed, timeout=20000):
            model.refresh(computing)
    finally:
        set_auth("inf")
    # the old rows are kept and nothing is added after them (row 2,000 of a big folder is never
    # seen): the node itself says it is not up to date, and why
    assert labels(model, computing) == before
    assert "not up to date: The access key id or secret access key was not accepted" in detail()
    node = model.node(computing)
    assert node.stale and "not accepted" in node.error
    assert "the last refresh failed: The access key id" in model.tooltip(computing)
    with qtbot.waitSignal(model.loadFinished, timeout=20000):
        model.refresh(computing)  # F5 tries again
    assert labels(model, computing) == before and "not up to date" not in (detail() or "")
