"""The family of errors hybridagent tells a user in one sentence.

    UserError                 the message is the whole story: no traceback
    ├── UserMistake           asked for what does not exist or cannot be: never retried
    ├── ConfigError           a configuration file or variable hybridagent cannot use
    └── ProviderError         a model backend failed or refused (providers/errors.py)

The CLI catches the family with one `except UserError` (exit code 1), and the chat REPL
says a `UserMistake` and goes on. Each error lives beside the code that raises it and
derives from one of these. Standard library only: the CLI imports this at start-up,
before any Temporal or Agents SDK module. The ApplicationError type names they become
in a workflow's history are in hybridagent/failures.py.
"""

from __future__ import annotations

from hybridagent.security.redact import redact

__all__ = ["ConfigError", "ProviderError", "UserError", "UserMistake"]


class UserError(Exception):
    """One sentence for the user, and the whole story: the CLI prints it, a workflow or
    activity fails with it as an ApplicationError of its class name."""


class UserMistake(UserError):
    """A name, id or input that does not exist or cannot be used: no retry fixes it."""


class ConfigError(UserError, ValueError):
    """A configuration file or variable hybridagent cannot use; a user mistake."""


class ProviderError(UserError, RuntimeError):
    """A model backend failed or refused. Whether a retry helps depends on the kind:
    providers/errors.py lists the kinds no retry fixes and what each one falls back to."""

    def __init__(self, *args: object) -> None:
        # A backend's URL or echoed request may carry a key: the message is scrubbed
        # before it reaches a history (an ApplicationError) or a log.
        if args and isinstance(args[0], str):
            args = (redact(args[0]), *args[1:])
        super().__init__(*args)
