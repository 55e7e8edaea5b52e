"""The PySide6 face of gridclient. Qt lives here and nowhere else."""
