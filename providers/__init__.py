"""Providers shipped with gridclient. Qt-free; each registers through the entry-point group
``gridclient.providers`` exactly as a third-party provider would."""
