"""Packaged data: icons, style sheets, .desktop file."""
