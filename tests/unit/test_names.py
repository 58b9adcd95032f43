import pytest

from hybridagent.routing.names import ModelRef, UnknownModelError, is_default, parse_model_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ollama/llama3.2:3b", ModelRef("ollama", "llama3.2:3b", is_local=True)),
        ("ollama/hf.co/org/model:Q4", ModelRef("ollama", "hf.co/org/model:Q4", is_local=True)),
        ("local/smollm2", ModelRef("local", "smollm2", is_local=True)),
        ("openai/gpt-4o-mini", ModelRef("openai", "gpt-4o-mini", is_local=False)),
        (
            "litellm/anthropic/claude-3-5-haiku",
            ModelRef("litellm", "anthropic/claude-3-5-haiku", is_local=False),
        ),
    ],
)
def test_parses_prefixed_names(name: str, expected: ModelRef) -> None:
    assert parse_model_name(name) == expected


def test_bare_name_belongs_to_default_prefix() -> None:
    assert parse_model_name("qwen3:4b", "ollama") == ModelRef("ollama", "qwen3:4b", is_local=True)


def test_bare_name_without_default_is_an_error() -> None:
    with pytest.raises(UnknownModelError, match="has no provider prefix"):
        parse_model_name("gpt-4o")


def test_unknown_prefix_names_the_valid_ones() -> None:
    with pytest.raises(UnknownModelError) as caught:
        parse_model_name("gemini/pro")
    assert str(caught.value) == (
        "Unknown model prefix 'gemini' in 'gemini/pro'; "
        "valid prefixes are ollama, local, openai, litellm."
    )


def test_litellm_needs_a_provider() -> None:
    with pytest.raises(UnknownModelError, match="needs a provider"):
        parse_model_name("litellm/claude")


def test_locality() -> None:
    assert parse_model_name("ollama/x").is_local and parse_model_name("local/smollm2").is_local
    assert (
        not parse_model_name("openai/x").is_local and not parse_model_name("litellm/a/b").is_local
    )


@pytest.mark.parametrize("name", [None, "", "  ", "auto"])
def test_default_names(name: str | None) -> None:
    assert is_default(name)
