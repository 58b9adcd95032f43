"""Workflows: deterministic code that builds agents and runs them with the plugin."""
