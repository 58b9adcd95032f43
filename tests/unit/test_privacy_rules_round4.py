"""Round 4 of the deterministic stage: each rule with a positive and a near miss.

The near misses are what long developer content holds: timestamps, URLs and IPv4
addresses around digits, public keys, UUIDs, pagination cursors, CIDR blocks, shell
continuations and type annotations."""

from __future__ import annotations

import pytest

from hybridagent.routing.privacy import rule_findings


def types(text: str) -> set[str]:
    return {f.type for f in rule_findings(text)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("e.g. wire_details = 'IBAN GB06BARC20005583710294 BIC BARCGB22 (Simone A.)'", "iban"),
        ("(we test with employee_id=EMP-00418273)", "employee_id"),
        ("Example: ``steuer_id=47036892816``", "tax_id"),
        ("laptop_serial = 'PF3KX9Q2 (ThinkPad X1 assigned to Jae-won Park)'", "device_id"),
        ('"admin_login": "m.delacroix.adm",', "customer_id"),
        ("Example: ``home_wifi_psk=plum-orchard-4417``", "password"),
        ("curl -u deploy:Hunter2-Prod-2024 https://ci.kestrel.dev/api/jobs", "password"),
        ("wpa_passphrase MorganFamilyNet 'sleepy-otter-biscuit-9'", "password"),
        ("call me on 415 555 2671 tonight", "phone_number"),
        ("phone=4155552671", "phone_number"),
    ],
)
def test_found(text: str, kind: str) -> None:
    assert kind in types(text)


@pytest.mark.parametrize(
    "text",
    [
        '"createdAt": "2025-01-21T11:32:38.034000-06:00",',
        "see https://github.com/org/repo/issues/1#issuecomment-2106349096.",
        '"Arn": "arn:aws:iam::12345678012:user/ops"',
        '"ResourceCidr": "10.0.0.0/16",',
        "--key-id 1234abcd-12ab-34cd-56ef-1234567890ab \\\n        --wrapping-algorithm RSA",
        '"NextToken": "77X1ebypsI7os+X2lhHsZLGNCDK3nNGpwRdFpicSOHgcX1/QMoniUAKcpR3kj3ts3P=="',
        '"EncodedKey": "-----BEGIN PUBLIC KEY-----\\n'
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApOCAg"
        "88A8+f4dujn9Izt\\n26LxtgAkn2opGgo/NKpMiaisyw5qlg3f1gol7FV6pYNl78iJg3EO8JBbwtlH+cR9\\n",
        "    resolved_cache_maxsize: int = RESOLVED_CACHE_MAXSIZE_DEFAULT\n"
        "    schema_validator_backend: str = SCHEMA_VALIDATOR_BACKEND_DEFAULT\n",
        "    def convert_terminal(self, token: Token) -> Any:",
        "then login() raises an :class:`ExceptionPxssh` exception.",
        '"ImportToken": "<import token base64 encoded data>",',
        "serial = self.serial_number",
        'username = "admin"',
        "curl -u $USER:$TOKEN https://example.org",
    ],
)
def test_not_found(text: str) -> None:
    assert types(text) == set()


def test_a_wrapped_key_is_still_joined_over_its_line_break() -> None:
    key = "sk-proj-" + "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9"
    text = f'OPENAI_KEY = "{key[:30]}"\n    "{key[30:]}"\n'
    assert types(text)


def test_filler_is_left_to_the_rules() -> None:
    """The learned stage scored "la la la …" like a disclosure: a window where one word is
    half of the words is not read, while the same words in a sentence still are."""
    from hybridagent.routing.learned import packaged_model
    from hybridagent.routing.privacy import scan

    filler = "Now something long and harmless, number 0: " + "la " * 60
    assert scan(filler, learned=packaged_model()) == []
    told = "I was diagnosed with type 2 diabetes last week, please help me tell my boss."
    assert scan(told + " " + filler, learned=packaged_model())
