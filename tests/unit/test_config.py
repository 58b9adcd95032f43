import pytest
from pydantic import ValidationError

from hybridagent.config import Settings


def test_ollama_host_accepts_ollamas_own_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11434")
    assert Settings(_env_file=None).ollama_host == "http://127.0.0.1:11434"  # type: ignore[call-arg]


def test_zero_attempts_would_retry_forever_and_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDAGENT_MODEL_MAX_ATTEMPTS", "0")
    with pytest.raises(ValidationError, match="at least 1"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("HYBRIDAGENT_LOCAL_ACTIVITIES", "true")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abc")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.temporal_address == "temporal:7233"
    assert settings.use_local_activities is True
    assert settings.openai_api_key is not None and "sk-abc" not in repr(settings)


def test_workflow_url() -> None:
    settings = Settings(_env_file=None, ui_url="http://ui:8080/")  # type: ignore[call-arg]
    assert (
        settings.workflow_url("wf", "run")
        == "http://ui:8080/namespaces/default/workflows/wf/run/history"
    )
