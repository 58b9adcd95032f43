"""Numbered schema migrations, one list of statements per dialect.

A migration is never edited once released: a change is a new number. `migrate` applies
the missing ones in one transaction and records each in `schema_version`.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_COMMON_V1 = [
    """CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        source TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        title TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
        due TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX tasks_user ON tasks (user_id, status)",
    """CREATE TABLE memories (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX memories_user ON memories (user_id, created_at)",
]

# 2: chat transcripts, so a session's conversation outlives Temporal's retention and a
# session carries only its recent messages through continue-as-new.
_CHAT_V2 = [
    """CREATE TABLE chat_messages (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        agent TEXT,
        models TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    )""",
]

# 3: the HTTP API's keys (hybridagent/api/keys.py). Only a keyed hash of a key is stored
# (HMAC-SHA256 with the server's secret) and a short display prefix; the limits are
# copied from the tier at creation, so changing a tier later changes no existing key.
_API_KEYS_V3 = [
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        rpm INTEGER CHECK (rpm IS NULL OR rpm > 0),
        tpm INTEGER CHECK (tpm IS NULL OR tpm > 0),
        max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent > 0),
        budget_usd DOUBLE PRECISION CHECK (budget_usd IS NULL OR budget_usd >= 0),
        tier TEXT,
        models TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
]

# 4: the usage ledger (hybridagent/usage/ledger.py): one row per model-call activity,
# keyed by (workflow run, activity ID) so a retried activity or a replayed workflow
# inserts nothing twice. Privacy categories only, never text; costs in USD.
_USAGE_V4 = [
    """CREATE TABLE usage_calls (
        run_id TEXT NOT NULL,
        activity_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        workflow_type TEXT NOT NULL,
        created_at TEXT NOT NULL,
        caller TEXT NOT NULL,
        agent TEXT,
        requested_model TEXT NOT NULL,
        model TEXT NOT NULL,
        local BOOLEAN NOT NULL,
        input_tokens INTEGER NOT NULL CHECK (input_tokens >= 0),
        output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0),
        latency_ms DOUBLE PRECISION NOT NULL,
        fallback_from TEXT,
        pinned BOOLEAN NOT NULL,
        privacy_categories TEXT NOT NULL DEFAULT '[]',
        cost_usd DOUBLE PRECISION NOT NULL,
        reference_model TEXT NOT NULL,
        reference_cost_usd DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, activity_id)
    )""",
    "CREATE INDEX usage_calls_at ON usage_calls (created_at)",
]

# 5: whether a row's tokens were estimated (a stream that reported no usage, as
# llama-cpp-python's server sends none): its cost and savings are estimates too.
_USAGE_V5 = [
    "ALTER TABLE usage_calls ADD COLUMN tokens_estimated BOOLEAN NOT NULL DEFAULT FALSE",
]

# 6: an hourly rollup of the ledger, which the dashboard and `hybridagent usage` read
# instead of scanning every row (hybridagent/usage/ledger.py): per UTC hour, caller and
# model (dim 'model') or agent (dim 'agent'), the sums and a fixed-bucket latency
# histogram, so a median is read from buckets. The ledger's insert keeps it in step, in
# the same transaction and only when the row was new; this backfills existing rows.
# The bounds are part of the schema: a change is a new migration.
USAGE_LATENCY_BOUNDS_MS: tuple[float, ...] = (
    50, 100, 150, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000,
    7_500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 90_000, 120_000, 300_000,
)  # fmt: skip
# l00 holds latencies under the first bound, l<i> those in [bound i-1, bound i), the
# last one everything from the last bound up.
USAGE_LATENCY_COLUMNS = tuple(f"l{i:02d}" for i in range(len(USAGE_LATENCY_BOUNDS_MS) + 1))


def _bucket_sums() -> str:
    bounds = USAGE_LATENCY_BOUNDS_MS
    cases = [f"SUM(CASE WHEN latency_ms < {bounds[0]} THEN 1 ELSE 0 END)"]
    cases += [
        f"SUM(CASE WHEN latency_ms >= {lo} AND latency_ms < {hi} THEN 1 ELSE 0 END)"
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    cases.append(f"SUM(CASE WHEN latency_ms >= {bounds[-1]} THEN 1 ELSE 0 END)")
    return ", ".join(cases)


def _backfill(dim: str, value: str) -> str:
    return (
        "INSERT INTO usage_hourly (dim, hour, caller, value, calls, local_calls, "
        f"input_tokens, output_tokens, cost_usd, savings_usd, {', '.join(USAGE_LATENCY_COLUMNS)}) "
        f"SELECT '{dim}', SUBSTR(created_at, 1, 13), caller, {value}, COUNT(*), "
        "SUM(CASE WHEN local THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens), "
        "SUM(cost_usd), SUM(CASE WHEN local THEN reference_cost_usd - cost_usd ELSE 0 END), "
        f"{_bucket_sums()} FROM usage_calls "
        f"GROUP BY SUBSTR(created_at, 1, 13), caller, {value}"
    )


def usage_rollup_backfill() -> list[str]:
    """The statements that fill usage_hourly from usage_calls (migration 6's; the
    benchmark fills its rows in bulk, then runs these)."""
    return [_backfill("model", "model"), _backfill("agent", "COALESCE(agent, workflow_type)")]


_USAGE_V6 = [
    f"""CREATE TABLE usage_hourly (
        dim TEXT NOT NULL CHECK (dim IN ('model', 'agent')),
        hour TEXT NOT NULL,
        caller TEXT NOT NULL,
        value TEXT NOT NULL,
        calls BIGINT NOT NULL,
        local_calls BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL,
        savings_usd DOUBLE PRECISION NOT NULL,
        {", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in USAGE_LATENCY_COLUMNS)},
        PRIMARY KEY (dim, hour, caller, value)
    )""",
    "CREATE INDEX usage_hourly_caller ON usage_hourly (caller, dim, hour)",
    *usage_rollup_backfill(),
]

MIGRATIONS: dict[str, list[list[str]]] = {
    "sqlite": [
        [
            *_COMMON_V1,
            """CREATE TABLE chunks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                text TEXT NOT NULL
            )""",
            "CREATE INDEX chunks_document ON chunks (document_id, ordinal)",
            # External-content FTS5 index over chunks.text, kept in step by triggers.
            """CREATE VIRTUAL TABLE chunks_fts USING fts5(
                text, content='chunks', content_rowid='id', tokenize='porter unicode61'
            )""",
            """CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
            END""",
            """CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
                INSERT INTO chunks_fts (chunks_fts, rowid, text)
                VALUES ('delete', old.id, old.text);
            END""",
        ],
        _CHAT_V2,
        _API_KEYS_V3,
        _USAGE_V4,
        _USAGE_V5,
        _USAGE_V6,
    ],
    "postgresql": [
        [
            *_COMMON_V1,
            """CREATE TABLE chunks (
                id BIGSERIAL PRIMARY KEY,
                document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                text TEXT NOT NULL,
                tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
            )""",
            "CREATE INDEX chunks_document ON chunks (document_id, ordinal)",
            "CREATE INDEX chunks_tsv ON chunks USING GIN (tsv)",
        ],
        _CHAT_V2,
        _API_KEYS_V3,
        _USAGE_V4,
        _USAGE_V5,
        _USAGE_V6,
    ],
}


def migrate(conn: Connection) -> int:
    """Apply the missing migrations inside the caller's transaction; the new version.

    On PostgreSQL a transaction-scoped advisory lock keeps two workers starting at once
    from applying the same migration twice; SQLite serialises writers by itself.
    """
    dialect = conn.dialect.name
    if dialect not in MIGRATIONS:
        raise ValueError(f"Unsupported database {dialect!r}; use SQLite or PostgreSQL.")
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7270001)"))
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    )
    current = conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar()
    version = int(current or 0)
    for number, statements in enumerate(MIGRATIONS[dialect], start=1):
        if number <= version:
            continue
        for statement in statements:
            conn.exec_driver_sql(statement)
        conn.execute(
            text("INSERT INTO schema_version (version, applied_at) VALUES (:v, CURRENT_TIMESTAMP)"),
            {"v": number},
        )
        version = number
    return version
