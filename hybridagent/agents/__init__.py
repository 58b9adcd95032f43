"""Agent specs, the built-in catalog, and spec -> agents.Agent."""
