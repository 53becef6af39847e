"""Text -> phoneme chunks: the English front end (misaki G2P), where to cut, and document importers."""
