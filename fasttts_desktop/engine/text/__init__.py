"""Text -> phoneme chunks: document importers (documents/), the G2P front ends, where to cut."""
