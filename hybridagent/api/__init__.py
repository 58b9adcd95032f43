"""The HTTP API: OpenAI-compatible routes, runs, sessions, keys and limits."""
