"""The app's place on a Linux desktop: its id, its menu entry and icons (entry.py, icons.py)."""

# Reverse-DNS, as the XDG desktop entry, D-Bus and Wayland's app_id expect: the .desktop file's name, the
# window's QGuiApplication.desktopFileName, the icon's name and the D-Bus name of org.freedesktop.Application.
APP_ID = "io.github.fasttts_desktop.FastTTS"
