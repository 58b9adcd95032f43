"""Settings for workers and the CLI: the environment, an optional `.env` file and an
optional `hybridagent.toml` (or the file HYBRIDAGENT_CONFIG names), in that order of
precedence. docs/configuration.md documents every key.

Settings are built once by the entry point and passed down; nothing reads the
environment at import time, and workflow code never reads it at all.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from hybridagent.dev_state import live_record
from hybridagent.errors import ConfigError as ConfigError
from hybridagent.routing.preferences import RoutingSettings

CONFIG_ENV = "HYBRIDAGENT_CONFIG"
DEFAULT_CONFIG_FILE = Path("hybridagent.toml")


def config_file() -> Path | None:
    """HYBRIDAGENT_CONFIG if set (and then it must exist), else ./hybridagent.toml if any."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {named}, which is not a file.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class ApiTier(BaseModel):
    """A named preset of API key limits, `[api.tiers.<name>]`; unset = unlimited.
    `hybridagent keys create --tier NAME` copies it into the key (flags override)."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    budget_usd: float | None = Field(None, ge=0)
    # fnmatch patterns of the model names a key may ask for; empty: every model.
    models: list[str] = Field(default_factory=list)


class ApiTable(BaseModel):
    """The configuration file's `[api]` table: what does not fit in a variable."""

    model_config = ConfigDict(extra="forbid")

    tiers: dict[str, ApiTier] = Field(default_factory=dict)


class ApiSettings(BaseModel):
    """What the HTTP API process needs, gathered from Settings (`Settings.api_settings`)."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    # None: limits are enforced in this process's memory only (one API process).
    redis_url: SecretStr | None
    # None: the secret file in the state dir (hybridagent/api/keys.py).
    key_secret: SecretStr | None
    max_body_bytes: int
    tiers: dict[str, ApiTier]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_nested_delimiter="__",
        # Only for fields without their own variable name (aliases ignore the prefix):
        # `routing` reads HYBRIDAGENT_ROUTING__<KEY>, merged key by key with the file.
        env_prefix="HYBRIDAGENT_",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        toml = (TomlConfigSettingsSource(settings_cls, toml_file=path),) if path else ()
        return (init_settings, env_settings, dotenv_settings, *toml)

    # Temporal
    temporal_address: str = Field("localhost:7233", validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    task_queue: str = Field("hybridagent", validation_alias=_env("HYBRIDAGENT_TASK_QUEUE"))
    ui_url: str = Field("http://localhost:8233", validation_alias=_env("HYBRIDAGENT_UI_URL"))
    # How long `run` and `sessions` wait for a worker to take the work before saying none did.
    pickup_seconds: float = Field(5.0, gt=0, validation_alias=_env("HYBRIDAGENT_PICKUP_SECONDS"))
    # The Temporal SDK's own (Rust core) log lines on the terminal: ERROR unless asked for
    # (`hybridagent -v` sets INFO).
    sdk_log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = Field(
        "ERROR", validation_alias=_env("HYBRIDAGENT_SDK_LOG_LEVEL")
    )
    # Python log records of every process (hybridagent/logs.py): this level and above,
    # secrets redacted, as readable text or one JSON object per line (`json`).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", validation_alias=_env("HYBRIDAGENT_LOG_LEVEL")
    )
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=_env("HYBRIDAGENT_LOG_FORMAT")
    )

    # Model choice: `auto` = Ollama's OLLAMA_MODEL when Ollama answers, else the embedded model.
    default_model: str = Field("auto", validation_alias=_env("HYBRIDAGENT_DEFAULT_MODEL"))

    # A learned privacy model of one's own (training/privacy/train.py --out FILE); unset:
    # the one in the package.
    privacy_model: Path | None = Field(None, validation_alias=_env("HYBRIDAGENT_PRIVACY_MODEL"))

    # The cloud model `routing` may choose for hard, non-sensitive calls (issue 3).
    cloud_model: str | None = Field(None, validation_alias=_env("HYBRIDAGENT_CLOUD_MODEL"))

    # Ollama
    ollama_host: str = Field("http://localhost:11434", validation_alias=_env("OLLAMA_HOST"))
    ollama_model: str = Field("llama3.2:3b", validation_alias=_env("OLLAMA_MODEL"))
    # Model calls through Ollama's OpenAI-compatible /v1 (`openai`) or its /api/chat
    # (`native`), which sizes the context to each call and passes keep_alive and think.
    ollama_api_mode: Literal["openai", "native"] = Field(
        "openai", validation_alias=_env("OLLAMA_API_MODE")
    )
    # The context Ollama serves when a request does not size it (Ollama's own variable
    # and default): the router keeps longer calls off Ollama models.
    ollama_context_length: int = Field(4096, ge=256, validation_alias=_env("OLLAMA_CONTEXT_LENGTH"))
    # How long Ollama keeps a model loaded after a request (Ollama's own variable and
    # default); the worker pre-warms its default Ollama model with it at start.
    ollama_keep_alive: str = Field("5m", validation_alias=_env("OLLAMA_KEEP_ALIVE"))
    # Tool calls to Ollama models without the `tools` capability: schema-constrained
    # emulation (`auto`), for every Ollama model (`always`), or never (Ollama's HTTP 400).
    tool_emulation: Literal["auto", "always", "never"] = Field(
        "auto", validation_alias=_env("HYBRIDAGENT_TOOL_EMULATION")
    )
    # Start pulling a configured Ollama model that is missing when the worker starts.
    ollama_auto_pull: bool = Field(False, validation_alias=_env("HYBRIDAGENT_OLLAMA_AUTO_PULL"))
    # A pull whose worker stopped heartbeating for this long is retried on another worker.
    ollama_pull_heartbeat_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("HYBRIDAGENT_OLLAMA_PULL_HEARTBEAT_SECONDS")
    )

    # OpenAI (and anything OpenAI-compatible via OPENAI_BASE_URL)
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))

    # LiteLLM: keys come from LiteLLM's own variables (ANTHROPIC_API_KEY, ...).
    # LITELLM_API_BASE points every LiteLLM call at one OpenAI-compatible endpoint.
    litellm_api_base: str | None = Field(None, validation_alias=_env("LITELLM_API_BASE"))
    litellm_api_key: SecretStr | None = Field(None, validation_alias=_env("LITELLM_API_KEY"))

    # Embedded llama.cpp model: `auto` starts it when Ollama does not answer.
    embedded: Literal["auto", "on", "off"] = Field(
        "auto", validation_alias=_env("HYBRIDAGENT_EMBEDDED")
    )
    embedded_url: str | None = Field(None, validation_alias=_env("HYBRIDAGENT_EMBEDDED_URL"))
    embedded_model_path: Path | None = Field(
        None, validation_alias=_env("HYBRIDAGENT_EMBEDDED_MODEL_PATH")
    )
    embedded_context: int = Field(4096, validation_alias=_env("HYBRIDAGENT_EMBEDDED_CONTEXT"))
    embedded_startup_seconds: float = Field(
        120.0, validation_alias=_env("HYBRIDAGENT_EMBEDDED_STARTUP_SECONDS")
    )

    # Model-call activities
    model_start_to_close_seconds: float = Field(
        120.0, validation_alias=_env("HYBRIDAGENT_MODEL_START_TO_CLOSE_SECONDS")
    )
    model_schedule_to_close_seconds: float = Field(
        600.0, validation_alias=_env("HYBRIDAGENT_MODEL_SCHEDULE_TO_CLOSE_SECONDS")
    )
    # A worker that dies mid-call is noticed after this long (the call then retries on
    # another worker) instead of after the whole start-to-close timeout.
    model_heartbeat_seconds: float = Field(
        20.0, gt=0, validation_alias=_env("HYBRIDAGENT_MODEL_HEARTBEAT_SECONDS")
    )
    model_max_attempts: int = Field(3, validation_alias=_env("HYBRIDAGENT_MODEL_MAX_ATTEMPTS"))
    model_retry_initial_seconds: float = Field(
        1.0, validation_alias=_env("HYBRIDAGENT_MODEL_RETRY_INITIAL_SECONDS")
    )
    # Circuit breaking: after this many provider failures in a row (unreachable, timeout,
    # 5xx, garbage), the provider is skipped for the cooldown.
    circuit_failure_threshold: int = Field(
        5, ge=1, validation_alias=_env("HYBRIDAGENT_CIRCUIT_FAILURES")
    )
    circuit_cooldown_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("HYBRIDAGENT_CIRCUIT_COOLDOWN_SECONDS")
    )
    use_local_activities: bool = Field(False, validation_alias=_env("HYBRIDAGENT_LOCAL_ACTIVITIES"))

    # Response cache (off by default): identical non-sensitive calls to the same model
    # answered from this worker's memory, for at most the TTL.
    response_cache: bool = Field(False, validation_alias=_env("HYBRIDAGENT_RESPONSE_CACHE"))
    response_cache_ttl_seconds: float = Field(
        300.0, gt=0, validation_alias=_env("HYBRIDAGENT_RESPONSE_CACHE_TTL_SECONDS")
    )
    response_cache_max_entries: int = Field(
        256, ge=1, validation_alias=_env("HYBRIDAGENT_RESPONSE_CACHE_MAX_ENTRIES")
    )

    # Agents SDK trace export to OpenAI: off unless asked for.
    tracing: bool = Field(False, validation_alias=_env("HYBRIDAGENT_TRACING"))

    # Routing: model lists, thresholds, extra sensitive terms, per-agent preferences.
    # Env overrides use `__`: HYBRIDAGENT_ROUTING__COMPLEXITY_THRESHOLD=0.7.
    routing: RoutingSettings = Field(default_factory=RoutingSettings)

    state_dir: Path = Field(Path(".hybridagent"), validation_alias=_env("HYBRIDAGENT_STATE_DIR"))
    # The tools' database (knowledge base, tasks, memories): a SQLAlchemy URL such as
    # postgresql://user:pw@host/db; unset = SQLite file <state_dir>/hybridagent.db.
    database_url: str | None = Field(None, validation_alias=_env("HYBRIDAGENT_DATABASE_URL"))
    # The usage ledger (docs/observability.md): what each local call's tokens would
    # have cost on this cloud model (LiteLLM's bundled price map) is its saving.
    usage_reference_model: str = Field(
        "openai/gpt-4o-mini", validation_alias=_env("HYBRIDAGENT_USAGE_REFERENCE_MODEL")
    )
    # The worker's Prometheus metrics (loopback): off unless a port is set. The Temporal
    # SDK's own metrics get their own port, HYBRIDAGENT_TEMPORAL_METRICS_PORT (default:
    # the worker's port + 1 when that is set).
    worker_metrics_port: int | None = Field(
        None, ge=1, le=65535, validation_alias=_env("HYBRIDAGENT_WORKER_METRICS_PORT")
    )
    temporal_metrics_port: int | None = Field(
        None, ge=1, le=65535, validation_alias=_env("HYBRIDAGENT_TEMPORAL_METRICS_PORT")
    )
    # User-defined agent files (<name>.toml / <name>.yaml); default <state_dir>/agents.
    agents_dir: Path | None = Field(None, validation_alias=_env("HYBRIDAGENT_AGENTS_DIR"))

    # The HTTP API (hybridagent/api/, `hybridagent serve`).
    api_host: str = Field("127.0.0.1", validation_alias=_env("HYBRIDAGENT_API_HOST"))
    api_port: int = Field(8400, ge=1, le=65535, validation_alias=_env("HYBRIDAGENT_API_PORT"))
    # Shared by every API process, so the limits hold across them; unset = in memory.
    # A secret: a Redis URL may carry a password.
    redis_url: SecretStr | None = Field(None, validation_alias=_env("HYBRIDAGENT_REDIS_URL"))
    # The server secret API keys are hashed with (HMAC-SHA256); every API process serving
    # the same database needs the same one. Unset: <state_dir>/api_key_secret, created once.
    api_key_secret: SecretStr | None = Field(
        None, validation_alias=_env("HYBRIDAGENT_API_KEY_SECRET")
    )
    api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, validation_alias=_env("HYBRIDAGENT_API_MAX_BODY_BYTES")
    )
    # `[api.tiers.<name>]`: named presets of key limits.
    api: ApiTable = Field(default_factory=ApiTable)

    # Payload encryption (hybridagent/security/): `id1:base64key,id2:base64key`, the
    # first key active. Unset: the key file (default <state_dir>/encryption-keys, which
    # `hybridagent dev` creates); neither: payloads are stored in plain text.
    encryption_keys: SecretStr | None = Field(
        None, validation_alias=_env("HYBRIDAGENT_ENCRYPTION_KEYS")
    )
    encryption_key_file: Path | None = Field(
        None, validation_alias=_env("HYBRIDAGENT_ENCRYPTION_KEY_FILE")
    )
    # The codec server (`hybridagent codec serve`, started by `hybridagent dev`).
    codec_host: str = Field("127.0.0.1", validation_alias=_env("HYBRIDAGENT_CODEC_HOST"))
    codec_port: int = Field(8235, ge=1, le=65535, validation_alias=_env("HYBRIDAGENT_CODEC_PORT"))
    # Unset: <state_dir>/codec-token, created once.
    codec_token: SecretStr | None = Field(None, validation_alias=_env("HYBRIDAGENT_CODEC_TOKEN"))
    # The one origin whose pages may call the codec server; unset: the Web UI's.
    codec_cors_origin: str | None = Field(
        None, validation_alias=_env("HYBRIDAGENT_CODEC_CORS_ORIGIN")
    )

    @property
    def sdk_metrics_port(self) -> int | None:
        """Where the worker's Temporal runtime serves its Prometheus metrics, if anywhere."""
        if self.temporal_metrics_port is not None:
            return self.temporal_metrics_port
        return self.worker_metrics_port + 1 if self.worker_metrics_port else None

    @field_validator("ollama_host")
    @classmethod
    def _with_scheme(cls, value: str) -> str:
        """Ollama itself accepts OLLAMA_HOST=0.0.0.0:11434; so do we."""
        value = value.strip().rstrip("/")
        if "://" not in value:
            value = f"http://{value}"
        return value.replace("://0.0.0.0", "://127.0.0.1")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        """`info`, `JSON`: how people type them (`WARN` as Python's own alias)."""
        if not isinstance(value, str):
            return value
        if info.field_name == "log_format":
            return value.strip().lower()
        level = value.strip().upper()
        return "WARNING" if level == "WARN" else level

    @field_validator("model_max_attempts")
    @classmethod
    def _bounded_attempts(cls, value: int) -> int:
        """0 would mean unlimited retries in Temporal: a user mistake would loop forever."""
        if value < 1:
            raise ValueError("HYBRIDAGENT_MODEL_MAX_ATTEMPTS must be at least 1")
        return value

    @model_validator(mode="after")
    def _follow_dev_server(self) -> Settings:
        """With TEMPORAL_ADDRESS set nowhere, talk to the server `hybridagent dev` runs
        from this state directory, on whatever --port it was given."""
        if "temporal_address" not in self.model_fields_set:
            record = live_record(self.state_dir)
            if record is not None:
                self.temporal_address = record.address
        return self

    @property
    def key_file(self) -> Path:
        return (self.encryption_key_file or self.state_dir / "encryption-keys").expanduser()

    @property
    def agents_path(self) -> Path:
        return (self.agents_dir or self.state_dir / "agents").expanduser()

    @property
    def api_settings(self) -> ApiSettings:
        return ApiSettings(
            host=self.api_host,
            port=self.api_port,
            redis_url=self.redis_url,
            key_secret=self.api_key_secret,
            max_body_bytes=self.api_max_body_bytes,
            tiers=self.api.tiers,
        )

    @property
    def model_start_to_close(self) -> timedelta:
        return timedelta(seconds=self.model_start_to_close_seconds)

    @property
    def model_schedule_to_close(self) -> timedelta:
        return timedelta(seconds=self.model_schedule_to_close_seconds)

    @property
    def web_ui_url(self) -> str:
        """HYBRIDAGENT_UI_URL when set; else the Web UI of the server `hybridagent dev`
        started from this state directory, when that is the server we talk to; else
        the default."""
        if "ui_url" not in self.model_fields_set:
            record = live_record(self.state_dir)
            if record is not None and record.serves(self.temporal_address):
                return record.ui_url
        return self.ui_url

    def workflow_url(self, workflow_id: str, run_id: str | None = None) -> str:
        base = f"{self.web_ui_url.rstrip('/')}/namespaces/{self.temporal_namespace}/workflows"
        return f"{base}/{workflow_id}/{run_id}/history" if run_id else f"{base}/{workflow_id}"


def load_settings() -> Settings:
    """Settings for an entry point; a bad file or value is one sentence (ConfigError)."""
    try:
        return Settings()
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{config_file()} is not valid TOML: {err}.") from None
    except SettingsError as err:
        raise ConfigError(f"{err}; lists and tables in variables are JSON.") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        source = config_file() or "the environment"
        raise ConfigError(f"Invalid setting {where} (from {source}): {first['msg']}.") from None
