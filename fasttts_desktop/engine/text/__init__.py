"""Text -> phoneme chunks: document importers (documents/), the English front end (misaki G2P), where to cut."""
