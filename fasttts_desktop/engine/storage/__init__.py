"""Where and how the app keeps files: platformdirs folders (paths), whole-or-nothing writes (files), JSON
settings (jsonfile), saved voice blends (blends). Used by the engine, the window and the command line."""
