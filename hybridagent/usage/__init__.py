"""The usage ledger (ledger.py), what the workflow tells it of each call (facts.py), and
the worker's model layer that records every answered call (layer.py)."""
