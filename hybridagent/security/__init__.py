"""Data at rest: the payload codec and its key ring, the codec server for the Web UI
and the Temporal CLI."""
