"""Test doubles that ship with the code: a scripted model, a recording stub server
and a throwaway Redis server (for the limit tests and bench/limits.py)."""
