"""The PySide6 window: widgets only; the work happens in fasttts_desktop.worker."""
