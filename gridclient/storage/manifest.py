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
T = "gridclient.storage.sftp_tree"
LOCAL = "local"  # the VO type, and the id of the one VO of that type (never saved in the workspace)

manifest = ProviderManifest(
    id="local", name="Local files (built in)", version="1",
    vo_types=(VOType(LOCAL, "This computer", fields=(), token_factory=f"{M}:LocalToken",
                     connection_test=f"{M}:who", description="The folders of this computer."),),
    # Local files (this computer's folders), then SSH connections (hosts of their own, as their
    # home folders): each a row of its own after the projects
    node_contributors=(NodeContributor(LOCAL, (Category("file.roots", "Local files", "folder"),
                                               Category("sftp.connections", "SSH connections", "terminal")), {
        "file.roots": f"{M}:load_roots", "file.root": f"{M}:load_folder", "file.folder": f"{M}:load_folder",
        "sftp.connections": f"{T}:load_connections", "sftp.connection": f"{T}:load_folder",
        "sftp.folder": f"{T}:load_folder"}),),
    storage_schemes=(StorageScheme("file", "gridclient.storage.local:FileScheme",
                                   folder_kinds=frozenset({"file.root", "file.folder"}),
                                   file_kinds=frozenset({"file.file"}), root_kinds=frozenset({"file.root"})),
                     # any SSH server's files (sftp://user@host:port/path); its rows — an instance's
                     # Files, an SSH connection's home — are these kinds
                     StorageScheme("sftp", "gridclient.storage.sftp:SFTPScheme",
                                   folder_kinds=frozenset({"sftp.root", "sftp.connection", "sftp.folder"}),
                                   file_kinds=frozenset({"sftp.file"}),
                                   root_kinds=frozenset({"sftp.root", "sftp.connection"}))),
    actions=(
        Action("local.add_folder", "Add folder…", "gridclient.storage.actions:add_local_folder",
               frozenset({"file.roots"}), icon="folder", group=GROUP_CREATE, refreshes="self",
               fields=(Field("folder", "Folder", kind="folder", required=True,
                             help="Shown under Local files, to drag to and from."),)),
        # a folder of an SSH server (an instance's Files): a terminal tab to that host, in that folder
        Action("sftp.terminal", "Open terminal here", f"{T}:open_terminal",
               frozenset({"sftp.root", "sftp.connection", "sftp.folder"}), icon="terminal", group=GROUP_CONNECT,
               refreshes=""),
        # any host's files: connected now (host key asked, as for a terminal), kept in the workspace
        Action("sftp.add_connection", "New SSH connection…", f"{T}:add_connection", frozenset({"sftp.connections"}),
               icon="terminal", group=GROUP_CREATE, refreshes="self",
               fields=(Field("host", "Host", required=True, help="A host name, an address or a ~/.ssh/config alias."),
                       Field("port", "Port", placeholder="22", check=f"{T}:port_problem"),
                       Field("user", "User", placeholder="from ~/.ssh/config, else your login name"),
                       Field("key_file", "Private key file", kind="path",
                             help="Optional: else ssh-agent and your default keys."),
                       Field("label", "Label", placeholder="user@host"))),
        Action("sftp.remove_connection", "Remove from SSH connections", f"{T}:remove_connection",
               frozenset({"sftp.connection"}), selection="+", icon="delete", group=GROUP_DELETE, refreshes="parent",
               confirm="Remove {labels} from SSH connections? The files on the server stay."),
        Action("local.remove_folder", "Remove from Local files", "gridclient.storage.actions:remove_local_folder",
               frozenset({"file.root"}), icon="delete", group=GROUP_DELETE, refreshes="parent",
               confirm="Remove {labels} from Local files? The folder and its files stay on this computer."),
    ),
)
