"""Text handling before G2P: document importers (documents/) and, later, the front end's text steps."""
