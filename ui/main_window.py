"""The main window: Projects tree, editor tabs, Properties / Operations / Console docks, menus.

Menus and the context menu are built from the registry's contributed actions, chosen by element
kind, selection count and state. The core's ActionRunner runs them (confirmation, fields, the
handler as a background Operation, errors in words); the window turns each outcome into view
changes: a listing reloaded, a terminal opened, a message. Nothing here waits on the network.

Over 500 lines because it is the one place where the window's parts meet: menus, selection,
action outcomes, transfers ending, dialogs, quitting. Each part's own logic lives elsewhere
(project_view, transfers_view, preview, interaction).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDockWidget, QHeaderView, QLabel, QMainWindow,
                               QMenu, QMessageBox, QPushButton, QTabWidget, QWidget)

from gridclient import __version__
from gridclient.actions import ActionOutcome, ActionRun
from gridclient.registry import COMMAND_DELETE, COMMANDS, Action
from gridclient.workbench import Workbench
from ui.docks import OperationsBridge, OperationsView, PropertiesView
from ui.icons import icon
from ui.interaction import QtInteraction
from ui.project_model import ERROR, PROJECT, SPECIAL, ProjectModel
from ui.project_view import ProjectView
from ui.window_state import WindowState
from ui.worker import unless_receiver_gone

log = logging.getLogger(__name__)


class _OutcomeBridge(QObject):
    """An action's outcome arrives on the thread that ended it; this hands it to the GUI thread."""

    arrived = Signal(object, object)  # (ActionOutcome, [QPersistentModelIndex])
    transfer = Signal(object)  # a transfer job began (from its thread)
    states = Signal(object)  # a gridclient.watch.StateChange (from the watcher's poller thread)


class MainWindow(QMainWindow):
    def __init__(self, wb: Workbench, title_suffix: str = ""):
        super().__init__()
        self.wb = wb
        self.setObjectName("mainWindow")
        self.setWindowTitle("gridclient" + (f" — {title_suffix}" if title_suffix else ""))
        self.setWindowIcon(icon("gridclient"))
        self.resize(1280, 800)
        self.interaction = QtInteraction(self, status=lambda t: self.statusBar().showMessage(t, 8000))
        wb.interaction = self.interaction  # the core's questions outside actions (a listing's host key)

        # the project tree
        self.model = ProjectModel(wb, self)
        self.tree = ProjectView(status=lambda t: self.statusBar().showMessage(t, 8000))
        self.tree.interaction = self.interaction
        self.tree.before_transfer = lambda: self.attach_transfers()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        # long names that differ only at the end (AMI names with dates) stay told apart
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().resizeSection(0, 250)
        self.tree.doubleClicked.connect(self._double_clicked)
        self.tree.expanded.connect(self.model.revalidate)
        self.tree.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.dataChanged.connect(self._rows_changed)
        self.model.loadFailed.connect(self._load_failed)
        self.model.rowsRemoved.connect(self._keep_a_selection)
        tree_dock = self._dock("Projects", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea, "projectsDock")
        tree_dock.setMinimumWidth(380)

        # editor area: terminals (and, later, file listings)
        self.terminals = self._make_editor_area()
        self.setCentralWidget(self.terminals)
        from ui.ssh_files import SSHFiles

        self.ssh_files = SSHFiles(self)  # SSH connections in the tree; a terminal's folder shown there

        # docks
        self.properties = PropertiesView()
        props_dock = self._dock("Properties", self.properties, Qt.DockWidgetArea.BottomDockWidgetArea,
                                "propertiesDock")
        self.props_dock = props_dock
        self.operations_view = OperationsView()
        # transfers first: they are what people watch; the actions' operations beside them
        self.operations_tabs = QTabWidget()
        self.operations_tabs.setObjectName("operationsTabs")
        self.operations_tabs.setDocumentMode(True)
        self.transfers: Any = None  # the TransfersPanel, made once the window is up
        self.opener: Any = None  # double-click on a file (ui.preview), made on first use
        self.operations_tabs.addTab(QLabel("Transfers appear here."), "Transfers")
        self.operations_tabs.addTab(self.operations_view, "Actions")
        ops_dock = self._dock("Operations", self.operations_tabs, Qt.DockWidgetArea.BottomDockWidgetArea,
                              "operationsDock")
        self.ops_dock = ops_dock
        self.tabifyDockWidget(props_dock, ops_dock)
        from ui.jobs_view import JobsTab

        self.jobs_tab = JobsTab(self)  # Run command…'s jobs, beside Transfers; the queue read on first use
        self.console_dock = QDockWidget("Python console", self)
        self.console_dock.setObjectName("consoleDock")
        self.console_dock.setWidget(QLabel("The console starts when this dock is shown."))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.console_dock)
        self.tabifyDockWidget(ops_dock, self.console_dock)
        self.console_dock.hide()
        self.console_dock.visibilityChanged.connect(self._console_visible)
        self.console = None
        #: closing with open terminal sessions asks first; off when the app is told to quit by a
        #: signal (SIGTERM at logout, Ctrl+C where it was started), where nobody is there to answer
        self.ask_before_close = True

        self.ops_bridge = OperationsBridge(self)
        self.ops_bridge.changed.connect(self.operations_view.update_operation)
        wb.operations.on_change(self.ops_bridge)
        self.outcomes = _OutcomeBridge(self)
        self.outcomes.arrived.connect(self._action_ended)
        self.outcomes.transfer.connect(self._show_transfers)
        self.outcomes.states.connect(self._states_changed)
        outcomes = self.outcomes

        def states_changed(change) -> None:  # a poller thread; the window may be gone
            with unless_receiver_gone(outcomes):
                outcomes.states.emit(change)

        wb.on_state_change(states_changed)

        self.docks = [tree_dock, props_dock, ops_dock, self.console_dock]
        self._build_menus()
        self.lock_button = QPushButton(icon("key"), "Secrets locked — Unlock…")
        self.lock_button.setObjectName("unlockButton")
        self.lock_button.setFlat(True)
        self.lock_button.setToolTip("VOs that use access keys cannot connect until the encrypted keyring "
                                    "is unlocked with its master password.")
        self.lock_button.clicked.connect(self.unlock_secrets)
        self.statusBar().addPermanentWidget(self.lock_button)
        # shown by update_lock_state() once the window is up: asking whether the keyring is safe
        # imports keyring, which start-up leaves for later
        self.lock_button.setVisible(False)
        self.unlock_act.setVisible(False)
        props_dock.raise_()
        self.resizeDocks([tree_dock], [560], Qt.Orientation.Horizontal)
        self.statusBar().showMessage("Ready", 3000)
        for row in range(self.model.rowCount()):
            if self.model.node(self.model.index(row, 0)) not in self.model.local_nodes:
                # Local files waits for a click: listing a folder is no work for start-up
                self.tree.expand(self.model.index(row, 0))
        self.window_state = WindowState(self, wb.paths.config)
        self.window_state.restore()  # as the window was left: size, docks, columns, expanded nodes

    # -- construction ----------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _make_editor_area(self) -> QTabWidget:
        from ui.terminal.tabs import TerminalTabs, font_from_preference

        tabs = TerminalTabs(self)
        tabs.set_terminal_font(font_from_preference(self.wb.workspace.preferences.get("terminal_font")))
        return tabs

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        new_menu = file_menu.addMenu("&New")
        self.new_vo_act = new_menu.addAction(icon("vo"), "Virtual &Organisation…", self.new_vo)
        self.new_vo_act.setObjectName("newVO")
        self.new_project_act = new_menu.addAction(icon("project"), "Grid &Project…", self.new_project)
        self.new_project_act.setObjectName("newProject")
        self.new_ssh_act = new_menu.addAction(icon("terminal"), "&SSH connection…", self.new_ssh)
        self.new_ssh_act.setObjectName("newSSH")
        file_menu.addSeparator()
        self.unlock_act = file_menu.addAction(icon("key"), "&Unlock secrets…", self.unlock_secrets)
        self.unlock_act.setObjectName("unlockSecrets")
        file_menu.addSeparator()
        quit_act = file_menu.addAction("&Quit", self.close)
        quit_act.setShortcut(QKeySequence.StandardKey.Quit)

        edit = mb.addMenu("&Edit")
        self.refresh_act = QAction(icon("refresh"), "&Refresh", self)
        self.refresh_act.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.refresh_act.triggered.connect(self.refresh_selected)
        self.copy_id_act = QAction("&Copy id", self)
        self.copy_id_act.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_id_act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_id_act.triggered.connect(self.copy_id)
        self.tree.addAction(self.copy_id_act)
        self.delete_act = QAction("&Delete", self)
        self.delete_act.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.delete_act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_act.triggered.connect(self.delete_selected)
        self.tree.addAction(self.delete_act)
        for a in (self.refresh_act, self.copy_id_act, self.delete_act):
            a.setShortcutVisibleInContextMenu(True)
            edit.addAction(a)
        edit.addSeparator()
        edit.addAction("&Preferences…", self.preferences)

        self.actions_menu = mb.addMenu("&Actions")
        self.actions_menu.aboutToShow.connect(lambda: self._fill_actions(self.actions_menu))

        view = mb.addMenu("&View")
        for dock in self.docks:
            shown = dock.toggleViewAction()
            # a dock shown from here comes to the front of its tabbed neighbours (the console
            # otherwise opened behind Properties, as a tab nobody had asked for)
            shown.triggered.connect(lambda on, dock=dock: on and dock.raise_())
            view.addAction(shown)

        help_menu = mb.addMenu("&Help")
        help_menu.addAction("&Providers…", self.show_providers)
        help_menu.addAction("&About gridclient", self.about)

    # -- selection -------------------------------------------------------------------------
    def selected_indexes(self) -> list[QModelIndex]:
        return [i for i in self.tree.selectionModel().selectedRows(0)]

    def _show_properties(self, index: QModelIndex | None) -> None:
        if index is None:
            self.properties.show_element(None)
            return
        node = self.model.node(index)
        self.properties.show_element(node.element, problem=node.error if node.stale else "")

    @Slot()
    def _selection_changed(self, *_args) -> None:
        idx = self.selected_indexes()
        self._show_properties(idx[0] if len(idx) == 1 else None)

    @Slot(QModelIndex, QModelIndex)
    def _rows_changed(self, top: QModelIndex, bottom: QModelIndex, *_roles) -> None:
        """A refresh or an action changed the shown element (Stop: state running → stopped)."""
        idx = self.selected_indexes()
        if len(idx) == 1 and idx[0].parent() == top.parent() and top.row() <= idx[0].row() <= bottom.row():
            self._show_properties(idx[0])

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        node = self.model.node(index)
        if node.kind == ERROR:
            self.model.retry(index)
            return
        if node.kind not in SPECIAL and node.element is not None and \
                self.wb.registry.storage_kind(node.element.kind) == "file":
            loc = self.tree.location(index)
            if loc is not None:
                from ui.preview import Opener

                if self.opener is None:
                    self.opener = Opener(self)
                self.attach_transfers()
                self.opener.open(loc, str(node.element.properties.get("ContentType", "")))

    @Slot()
    def _keep_a_selection(self, *_args) -> None:
        """Rows removed under the selection (a delete done): the row that took their place is
        selected, so Del goes on with it from the keyboard."""
        sel = self.tree.selectionModel()
        current = self.tree.currentIndex()
        if not sel.selectedRows(0) and current.isValid():
            sel.select(current, sel.SelectionFlag.ClearAndSelect | sel.SelectionFlag.Rows)

    @Slot(QModelIndex, str)
    def _load_failed(self, index: QModelIndex, message: str) -> None:
        el = self.model.element(index)
        self.statusBar().showMessage(f"{el.label if el else ''}: {message}", 10000)

    # -- menus -----------------------------------------------------------------------------
    def _context_menu(self, pos) -> None:
        index = self.tree.indexAt(pos)
        if index.isValid() and not self.tree.selectionModel().isSelected(index):
            self.tree.setCurrentIndex(index)
        menu = QMenu(self)
        self._fill_actions(menu)
        menu.popup(self.tree.viewport().mapToGlobal(pos))
        self._last_menu = menu

    def _fill_actions(self, menu: QMenu) -> None:
        menu.clear()
        indexes = self.selected_indexes()
        nodes = [self.model.node(i) for i in indexes]
        if len(nodes) == 1 and nodes[0].kind == ERROR:
            menu.addAction(icon("retry"), "Retry", lambda: self.model.retry(indexes[0]))
            return
        elements = [n.element for n in nodes if n.kind not in SPECIAL]
        vos = {self.model.vo_of(n).id for n in nodes if self.model.vo_of(n)}
        if len(elements) == 1 and self.wb.registry.storage_kind(elements[0].kind) == "file":
            opener = menu.addAction(icon("file"), "Open", lambda ix=indexes[0]: self._double_clicked(ix))
            opener.setObjectName("action:open")
            menu.setDefaultAction(opener)  # what a double-click does
            menu.addSeparator()
        group = None
        if elements and len(vos) == 1:
            for action in self.wb.registry.actions_for(elements):
                if group is not None and action.group != group:
                    menu.addSeparator()
                group = action.group
                qa = menu.addAction(icon(action.icon), action.label)
                qa.setObjectName(f"action:{action.id}")
                if COMMANDS.get(action.command):  # a reminder: the window's own action handles the key
                    qa.setShortcut(QKeySequence(COMMANDS[action.command]))
                    qa.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                    qa.setShortcutVisibleInContextMenu(True)
                qa.setEnabled(action.enabled_for(elements))
                qa.triggered.connect(lambda _=False, a=action, ix=list(indexes): self.run_action(a, ix))
        if len(nodes) == 1 and nodes[0].kind == PROJECT:
            menu.addSeparator()
            menu.addAction("Remove project…", self.delete_selected)
        if indexes:
            menu.addSeparator()
            menu.addAction(self.refresh_act)
            menu.addAction(self.copy_id_act)

    # -- actions ---------------------------------------------------------------------------
    def run_action(self, action: Action, indexes: list[QModelIndex], interaction: Any = None) -> ActionRun | None:
        """Run ``action`` on the rows at ``indexes`` through the core's runner."""
        nodes = [self.model.node(i) for i in indexes]
        if not nodes or any(n.kind in SPECIAL for n in nodes):
            return None
        vo = self.model.vo_of(nodes[0])
        if vo is None:
            return None
        return self._start(action, [n.element for n in nodes], vo, [QPersistentModelIndex(i) for i in indexes],
                           interaction or self.interaction)

    def start_from_console(self, action: Action, elements: Any, vo: Any, values: dict) -> ActionRun | None:
        """The console's ``actions[id](elements, vo=…, **values)``: on the tree's selection as from
        its context menu; on other elements, rows showing them are found (so the outcome reloads
        them), and their VO — or the one named, or the workspace's only one."""
        from gridclient.console_api import Prefilled
        from ui.console import Selection

        interaction = Prefilled(self.interaction, values) if values else self.interaction
        if isinstance(elements, Selection):
            return self.run_action(action, elements.indexes(), interaction)
        elements = list(elements)
        rows = self.model.indexes_of_elements(elements)
        if vo is None and rows:
            vo = self.model.vo_of(self.model.node(rows[0]))
        elif isinstance(vo, str):
            named = next((v for v in self.wb.workspace.vos.values() if vo in (v.name, v.id)), None)
            if named is None:
                raise KeyError(f"no VO named {vo!r}")
            vo = named
        elif vo is None and len(self.wb.workspace.vos) == 1:
            vo = next(iter(self.wb.workspace.vos.values()))
        if vo is None:
            raise ValueError("Which VO are these in? Give vo='name'.")
        return self._start(action, elements, vo, [QPersistentModelIndex(i) for i in rows], interaction)

    def _start(self, action: Action, elements: list, vo: Any, rows: list, interaction: Any) -> ActionRun:
        self.attach_transfers()  # a storage action starts a transfer: the Transfers tab follows it
        run = self.wb.actions.start(action, elements, vo, interaction)
        outcomes = self.outcomes

        def tell(outcome: ActionOutcome) -> None:  # the operation's thread; the window may be gone
            with unless_receiver_gone(outcomes):
                outcomes.arrived.emit(outcome, rows)

        run.on_done(tell)
        return run

    @Slot(object, object)
    def _action_ended(self, outcome: ActionOutcome, rows: list[QPersistentModelIndex]) -> None:
        """The outcome as view changes: a message, a terminal, a new ref, listings reloaded."""
        title = outcome.action.title
        if outcome.state == "failed":
            self.interaction.notify("error", title, outcome.message)
            return
        if outcome.state == "gone":
            self.interaction.notify("warning", title, outcome.message)
        elif outcome.state == "refused":
            self.statusBar().showMessage(outcome.message, 8000)
            return
        elif outcome.state != "done":  # declined or cancelled: nothing happened to show
            return
        elif outcome.message:
            self.statusBar().showMessage(outcome.message + (" Copied to the clipboard." if outcome.copy else ""), 8000)
        if outcome.copy:
            QGuiApplication.clipboard().setText(outcome.copy)
        if outcome.terminal is not None:
            terminal = self.open_terminal(outcome.terminal)
            # the row it came from (an instance): where Show folder in tree looks for its files
            self.ssh_files.opened_from(self.terminals.tab_of(terminal), rows)
        if outcome.text:
            self.show_text(outcome.title or title, outcome.text)
        live = [QModelIndex(i) for i in rows if i.isValid()]
        if outcome.ref:
            for i in live:
                self.model.set_ref(i, outcome.ref)
        if outcome.properties:
            for i in live:
                el = self.model.element(i)
                if el is not None:
                    el.properties = {**el.properties, **outcome.properties}
            self._selection_changed()
            self.props_dock.show()
            self.props_dock.raise_()  # what was asked for is seen, not behind Operations
        if outcome.refresh == "self":
            for i in live:
                self.model.refresh(i)
                self.tree.expand(i)
        elif outcome.refresh == "parent" and live:
            for parent in {QPersistentModelIndex(i.parent()) for i in live}:
                self.model.refresh(QModelIndex(parent))
        elif outcome.refresh.startswith("kind:") and live:
            # another node of the same project (Launch from an image: its Computing)
            for i in self.model.shown_of_kind(outcome.refresh[5:], [self.model.node(i).project for i in live]):
                self.model.refresh(i)
                self.tree.expand(i)

    @Slot(object)
    def _states_changed(self, change) -> None:
        """Live state: elements an action changed moved on (stopping → stopped); their rows, Details
        and, through dataChanged, Properties follow. One the cloud no longer lists: its listing is
        reloaded. A poll that failed: said in the status bar (polls go on)."""
        if change.elements:
            self.model.replace_elements(change.vo_id, change.elements)
        if change.gone:
            rows = self.model.replace_elements(change.vo_id, change.gone)
            for parent in {QPersistentModelIndex(i.parent()) for i in rows if i.isValid()}:
                self.model.refresh(QModelIndex(parent))
        if change.problem:
            self.statusBar().showMessage(f"Could not check the state of what changed: {change.problem} "
                                         "Trying again.", 15000)

    @Slot()
    def refresh_selected(self) -> None:
        indexes = self.selected_indexes()
        if not indexes:
            for row in range(self.model.rowCount()):
                self.model.refresh(self.model.index(row, 0))
        for i in indexes:
            self.model.refresh(i)

    @Slot()
    def copy_id(self) -> None:
        ids = [self.model.node(i).element.id for i in self.selected_indexes()
               if self.model.node(i).kind not in SPECIAL]
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))
            self.statusBar().showMessage(f"Copied {', '.join(ids[:3])}{' …' if len(ids) > 3 else ''}", 4000)

    @Slot()
    def delete_selected(self) -> None:
        indexes = self.selected_indexes()
        nodes = [self.model.node(i) for i in indexes]
        if len(nodes) == 1 and nodes[0].kind == PROJECT:
            project = nodes[0].project
            if self.interaction.confirm("Remove project",
                                        f"Remove the project “{project.name}” from the workspace? "
                                        "Nothing in the cloud is deleted."):
                self.wb.workspace.remove_project(project.id)
                self.model.remove_project(project.id)
            return
        action = None
        if nodes and not any(n.kind in SPECIAL for n in nodes):
            action = self.wb.registry.action_for_command(COMMAND_DELETE, [n.element for n in nodes])
        if action is None:
            self.statusBar().showMessage("Nothing to delete here.", 3000)
            return
        self.run_action(action, indexes)

    # -- File → New ------------------------------------------------------------------------
    @Slot()
    def new_vo(self):
        from ui.vo_wizard import VOWizard

        wiz = VOWizard(self.wb, self)
        if wiz.exec() == QDialog.DialogCode.Accepted and wiz.created is not None:
            self.statusBar().showMessage(f"Virtual Organisation “{wiz.created.name}” created.", 5000)
            if not any(p.vo == wiz.created.id for p in self.wb.workspace.projects.values()):
                if self.interaction.confirm("New Grid Project",
                                            f"Create a Grid Project for “{wiz.created.name}” now?", default=True):
                    self.new_project(preselect=wiz.created.id)
        return wiz

    @Slot()
    def new_project(self, preselect: str | None = None):
        from ui.project_dialog import ProjectDialog

        if not self.wb.workspace.vos:
            if self.interaction.confirm("New Grid Project",
                                        "A Grid Project is bound to a Virtual Organisation, and there is none yet. "
                                        "Create one now?", default=True):
                self.new_vo()
            return None
        dlg = ProjectDialog(self.wb, self, preselect=preselect)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.created is not None:
            index = self.model.add_project(dlg.created)
            self.tree.expand(index)
            self.tree.setCurrentIndex(index)
        return dlg

    @Slot()
    def new_ssh(self) -> None:
        from ui.terminal.connect_dialog import SSHConnectDialog

        dlg = SSHConnectDialog(self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            terminal = self.open_terminal(dlg.target())
            if dlg.keep_files.isChecked():  # its files under SSH connections, over the tab's connection
                self.ssh_files.keep_when_connected(self.terminals.tab_of(terminal))

    def open_terminal(self, target: Any):
        from gridclient.ssh import KnownHosts

        return self.terminals.open_session(target, KnownHosts(self.wb.paths.known_hosts), self.interaction)

    def show_text(self, title: str, text: str) -> QWidget:
        """Text an action returned (console output), read-only in a tab of the editor area."""
        from ui.preview import text_tab

        view = text_tab(text)
        index = self.terminals.addTab(view, title if len(title) <= 40 else title[:39] + "…")
        self.terminals.setTabToolTip(index, title)
        self.terminals.setCurrentIndex(index)
        return view

    # -- other windows ---------------------------------------------------------------------
    @Slot()
    def preferences(self) -> None:
        from ui.preferences import PreferencesDialog

        PreferencesDialog(self.wb, self, on_terminal_font=self.terminals.set_terminal_font).exec()
        self.model.reload_projects()
        for row in range(self.model.rowCount()):
            if self.model.node(self.model.index(row, 0)) not in self.model.local_nodes:
                # Local files waits for a click: listing a folder is no work for start-up
                self.tree.expand(self.model.index(row, 0))

    @Slot()
    def show_providers(self) -> None:
        from ui.preferences import ProvidersDialog

        ProvidersDialog(self.wb.registry, self).exec()

    @Slot()
    def about(self) -> None:
        QMessageBox.about(self, "About gridclient",
                          f"<b>gridclient {__version__}</b><p>A resource-tree browser for AWS and "
                          "EC2-compatible clouds, in the tradition of g-Eclipse.</p>")

    @Slot(bool)
    def _console_visible(self, visible: bool) -> None:
        if visible:
            # View → Python console shows the dock behind its tab neighbours: bring it forward
            self.console_dock.raise_()
        if visible and self.console is None:
            try:
                from ui.console import make_console, namespace

                self.console = make_console(self, namespace(self))
                self.console_dock.setWidget(self.console)
            except Exception as exc:  # noqa: BLE001 - the console is optional
                log.warning("console unavailable: %s", exc)
                self.console_dock.setWidget(QLabel(f"The Python console could not start: {exc}"))
                self.console = False

    # -- secrets -------------------------------------------------------------------------------
    def secrets_locked(self) -> bool:
        """VOs keep secrets in the encrypted file keyring, and it has not been unlocked."""
        needs = any(vo.secret_fields for vo in self.wb.workspace.vos.values())
        return needs and not self.wb.secrets.safe

    def update_lock_state(self) -> None:
        locked = self.secrets_locked()
        self.unlock_act.setVisible(locked)
        self.lock_button.setVisible(locked)

    def unlock_secrets(self, from_environment: bool = False) -> bool:
        """Ask for the master password; on success, VOs that failed for want of a secret work again.
        ``from_environment`` (at start-up): GRIDCLIENT_MASTER_PASSWORD first, as the command line
        takes it; the question only if it is not set or does not open the keyring."""
        from gridclient.secrets import MASTER_PASSWORD_ENV, WrongMasterPassword
        from ui.vo_wizard import ensure_safe_keyring

        problem = ""
        password = os.environ.get(MASTER_PASSWORD_ENV, "") if from_environment else ""
        if password:
            try:
                self.wb.use_master_password(password)
            except WrongMasterPassword as exc:
                problem = f"{MASTER_PASSWORD_ENV}: {exc}"
        asked = not self.wb.secrets.safe
        ok = not asked or ensure_safe_keyring(self.wb, self, unlock_only=True, problem=problem)
        if ok and asked:  # (unlocked from the environment at start, nothing has failed for it)
            self.statusBar().showMessage("Secrets unlocked. Retry what failed (F5).", 8000)
        self.update_lock_state()
        return ok

    def show_problems(self) -> None:
        """What could not be read from the workspace, in one message."""
        problems = self.wb.workspace.problems
        if problems:
            QMessageBox.warning(self, "Workspace", "\n\n".join(problems))

    # -- transfers -------------------------------------------------------------------------
    def attach_transfers(self) -> None:
        """The transfer queue in the Operations dock (after the window is up: it reads the queue
        kept in the workspace, which start-up need not wait for)."""
        if self.transfers is not None:
            return
        from ui.transfers_view import TransfersPanel

        self.transfers = TransfersPanel(self.wb.transfers, self, self.interaction)
        self.transfers.view.job_finished.connect(self._transfer_ended)
        self.wb.transfers.on_change(self._transfer_started_bridge)
        old = self.operations_tabs.widget(0)
        self.operations_tabs.removeTab(0)
        old.deleteLater()
        self.operations_tabs.insertTab(0, self.transfers, "Transfers")
        self.operations_tabs.setCurrentIndex(0)

    def _transfer_started_bridge(self, job) -> None:  # a transfer thread
        if job.state == "scanning":
            with unless_receiver_gone(self.outcomes):
                self.outcomes.transfer.emit(job)

    @Slot(object)
    def _show_transfers(self, job) -> None:
        """A new transfer brings the Operations dock forward, on its Transfers tab."""
        self.ops_dock.show()
        self.ops_dock.raise_()
        self.operations_tabs.setCurrentIndex(0)

    @Slot(object)
    def reload_folder_of(self, location) -> None:
        """A file was written outside the transfer queue (saved from its tab): its folder's rows
        are reloaded where shown, so its size and time are the new ones."""
        from gridclient.storage.manifest import LOCAL

        for index in self.model.indexes_showing({location.parent.uri}, {location.vo_id or LOCAL}):
            self.model.refresh(index)

    @Slot(object)
    def _transfer_ended(self, job) -> None:
        """Reload the folders a transfer changed: its target, and for a move or a deletion the
        folders the sources were in; say how it went."""
        from gridclient.storage.manifest import LOCAL

        if self.opener is not None:
            self.opener.job_ended(job)
        places = [job.target] if job.target is not None else []
        if job.kind in ("move", "delete"):
            places += [s.parent for s in job.sources]
            if job.kind == "delete":
                places += [s for s in job.sources if s.is_folder]
        uris = {p.uri for p in places}
        vo_ids = {p.vo_id or LOCAL for p in places}
        for index in self.model.indexes_showing(uris, vo_ids):
            self.model.refresh(index)
        text = f"{job.title}: {job.message}"
        if job.state == "failed":
            self.statusBar().showMessage(text, 15000)
        else:
            self.statusBar().showMessage(text, 8000)

    def closeEvent(self, event) -> None:
        moving = [j for j in self.wb.transfers.jobs if j.state not in ("done", "failed", "cancelled",
                                                                         "interrupted")] \
            if self.transfers is not None else []
        if moving and self.ask_before_close:
            answer = QMessageBox.question(
                self, "Quit gridclient",
                f"{len(moving)} transfer{'s are' if len(moving) > 1 else ' is'} under way. Quit now and "
                "resume when gridclient starts next time (Operations → Resume)?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        live = self.terminals.live_sessions() if hasattr(self.terminals, "live_sessions") else 0
        if live and self.ask_before_close:
            answer = QMessageBox.question(
                self, "Quit gridclient",
                f"{live} terminal session{'s are' if live > 1 else ' is'} open. Quitting closes "
                f"{'them' if live > 1 else 'it'}, and what runs there without nohup or tmux stops.\n\nQuit anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.window_state.save()
        if hasattr(self.terminals, "close_all"):
            self.terminals.close_all()
        if self.console:
            try:
                self.console.kernel_client.stop_channels()
                self.console.kernel_manager.shutdown_kernel()
            except Exception:  # noqa: BLE001
                pass
        super().closeEvent(event)
