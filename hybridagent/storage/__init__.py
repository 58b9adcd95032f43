"""The database of the knowledge-base, task and memory tools (SQLite or PostgreSQL)."""

from hybridagent.storage.store import NotFoundError, Storage, database_url, open_storage

__all__ = ["NotFoundError", "Storage", "database_url", "open_storage"]
