"""The core's own provider: "Local files" (this computer's folders) in the tree, as the ``file``
storage scheme, so files are dragged between this computer and any cloud storage inside the app;
and the ``sftp`` scheme (:mod:`gridclient.storage.sftp`), any SSH server's files.

Data only, like every manifest. Registered by :meth:`ExtensionRegistry.discover` before the
installed providers; its VO type is not offered in the VO wizard (``LOCAL`` is always there).
"""

from gridclient.interaction import Field
from gridclient.registry import (GROUP_CONNECT, GROUP_CREATE, GROUP_DELETE, Action, Category, NodeContributor, ProviderManifest,
                                 StorageScheme, VOType)

M = "gridclient.storage.local"
LOCAL = "local"  # the VO type, and the id of the one VO of that type (never saved in the workspace)

manifest = ProviderManifest(
    id="local", name="Local files (built in)", version="1",
    vo_types=(VOType(LOCAL, "This computer", fields=(), token_factory=f"{M}:LocalToken",
                     connection_test=f"{M}:who", description="The folders of this computer."),),
    node_contributors=(NodeContributor(LOCAL, (Category("file.roots", "Local files", "folder"),), {
        "file.roots": f"{M}:load_roots", "file.root": f"{M}:load_folder", "file.folder": f"{M}:load_folder"}),),
    storage_schemes=(StorageScheme("file", "gridclient.storage.local:FileScheme",
                                   folder_kinds=frozenset({"file.root", "file.folder"}),
                                   file_kinds=frozenset({"file.file"}), root_kinds=frozenset({"file.root"})),
                     # any SSH server's files (sftp://user@host:port/path); its rows — an instance's
                     # Files, an SSH connection's home — are these kinds
                     StorageScheme("sftp", "gridclient.storage.sftp:SFTPScheme",
                                   folder_kinds=frozenset({"sftp.root", "sftp.folder"}),
                                   file_kinds=frozenset({"sftp.file"}), root_kinds=frozenset({"sftp.root"}))),
    actions=(
        Action("local.add_folder", "Add folder…", "gridclient.storage.actions:add_local_folder",
               frozenset({"file.roots"}), icon="folder", group=GROUP_CREATE, refreshes="self",
               fields=(Field("folder", "Folder", kind="folder", required=True,
                             help="Shown under Local files, to drag to and from."),)),
        # a folder of an SSH server (an instance's Files): a terminal tab to that host, in that folder
        Action("sftp.terminal", "Open terminal here", "gridclient.storage.sftp_tree:open_terminal",
               frozenset({"sftp.root", "sftp.folder"}), icon="terminal", group=GROUP_CONNECT, refreshes=""),
        Action("local.remove_folder", "Remove from Local files", "gridclient.storage.actions:remove_local_folder",
               frozenset({"file.root"}), icon="delete", group=GROUP_DELETE, refreshes="parent",
               confirm="Remove {labels} from Local files? The folder and its files stay on this computer."),
    ),
)
