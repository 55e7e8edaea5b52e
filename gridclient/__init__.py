"""gridclient core: Qt-free.

Extension registry, Virtual Organisations with their auth tokens and secret store, the element
tree, the info cache, background operations, SSH sessions and workspace persistence.
Nothing in this package imports PySide6 or names a provider.
"""

__version__ = "0.1.0"
