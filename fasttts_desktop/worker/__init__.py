"""Threads, queues and the sound device between the engine and the window (Qt, but no widgets)."""
