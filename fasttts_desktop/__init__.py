"""fasttts-desktop: Kokoro-82M text-to-speech for the desktop, fast enough to start speaking at once."""

__version__ = "0.1.0"
