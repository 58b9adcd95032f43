"""The error a chat-session command reports in one sentence (kept light: the CLI imports
it at start-up, before any Temporal or Agents SDK module)."""

from __future__ import annotations

from hybridagent.errors import UserMistake


class SessionError(UserMistake, RuntimeError):
    """A session that does not exist, has ended, or refused a message."""
