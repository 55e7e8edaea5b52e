"""The embedded terminal: an emulator core (emulator.py), its Qt widget, terminal tabs and the
"New SSH connection" dialog."""
