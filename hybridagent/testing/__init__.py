"""Test doubles that ship with the code: a scripted model and a recording stub server."""
