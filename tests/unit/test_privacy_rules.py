"""The deterministic stage's newer detectors: secrets given a name in every common form,
fail-closed example credentials, labelled identifiers, obfuscated values, records about
a person in code. Each case names what must be found, or why nothing is."""

from __future__ import annotations

import pytest

from hybridagent.routing.assignments import names_secret
from hybridagent.routing.categories import category_of
from hybridagent.routing.privacy import rule_findings


def found(text: str) -> set[tuple[str, str]]:
    return {(f.type, text[f.start : f.end]) for f in rule_findings(text)}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor&3"),
        ('DB_PASSWORD="Tr0ub4dor&3"', "Tr0ub4dor&3"),
        ("export API_TOKEN=Zx81kQ2mPa9", "Zx81kQ2mPa9"),
        ("database:\n  password: hunter22\n", "hunter22"),
        ('{"api_key": "abcd1234efgh"}', "abcd1234efgh"),
        ('token = "ghx81kQ2mPa9"', "ghx81kQ2mPa9"),
        ("mysql --password=S3cretPw db", "S3cretPw"),
        ("deploy --api-key Zx81kQ2mPa9 --region eu", "Zx81kQ2mPa9"),
        ('connect(user="app", password="hunter2!")', "hunter2!"),
        ("https://x.test/cb?token=abcd1234efgh&next=/", "abcd1234efgh"),
        (
            'wallet_seed = "orbit maple tunnel violin crisp hazard"',
            "orbit maple tunnel violin crisp hazard",
        ),
    ],
)
def test_secret_named_assignments(text: str, value: str) -> None:
    assert value in {v for _, v in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "OPENAI_API_KEY=sk-... goes in .env",
        'password = os.environ["DB_PASSWORD"]',
        "    token: str",
        "    token: Optional[str] = None",
        "max_tokens = 2048",
        "password_length = 12",
        "  --password PASSWORD  the password to log in with",
        "password = get_password()",
        "token = self.token",
        "DB_PASSWORD=${DB_PASSWORD}",
        'api_key="<your-api-key>"',
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "password=password",
        "aws_secret_access_key=aws_secret_access_key",
        "session_id = uuid4()",
        "LED_PIN = 17",
    ],
)
def test_names_without_secret_values_are_not_findings(text: str) -> None:
    assert found(text) == set()


def test_key_names() -> None:
    assert names_secret("DB_PASSWORD") and names_secret("apiKey") and names_secret("client-secret")
    assert names_secret("aws_access_key_id")
    assert not names_secret("max_tokens") and not names_secret("password_length")
    assert not names_secret("monkey") and not names_secret("key")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("4111111111111111", "payment_card"),
        ("the Stripe test card 4242 4242 4242 4242 is declined", "payment_card"),
    ],
)
def test_example_credentials_fail_closed(text: str, kind: str) -> None:
    assert kind in {k for k, _ in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "what does 555-0100 mean in films?",
        "Set OPENAI_API_KEY=sk-... and retry",
        "Is 000-00-0000 ever a valid SSN?",
        "The docs use 0000 0000 0000 0000 as the card.",
        "see https://img.shields.io/badge/Most_Advanced-HTTP_Client-cyan for the badge",
        "values = [0.34686634635794555, 2.9998828170537903]",
        "print(f'{password}')",
    ],
)
def test_placeholders_talk_and_code_are_not_findings(text: str) -> None:
    assert found(text) == set()


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("my badge number is KX-20417, add it to the form", "employee_id", "KX-20417"),
        ("my laptop's MAC is 90-16-c3-51-ec-74; whitelist it", "mac_address", "90-16-c3-51-ec-74"),
        ("pin my home at 40.7128, -74.0060 on the map", "coordinates", "40.7128, -74.0060"),
        ("write to john.doe at gmail dot com", "email", "john.doe at gmail dot com"),
        ("my NI number is JT 48 21 93 B", "national_id", "JT 48 21 93 B"),
        ("her mobile number is 0176 4829 1175", "phone_number", "0176 4829 1175"),
        ("ssn 512 48 7730 on the form", "us_ssn", "512 48 7730"),
        ("the admin login is admin / Bluebell-Cottage-42", "password", "Bluebell-Cottage-42"),
        ('auth=("deploy-bot", "W3st!ngate-Relay-07")', "password", "W3st!ngate-Relay-07"),
        ('full_name="Helena Brandt"', "person_name", "Helena Brandt"),
        ('"diagnosis": "Type 1 diabetes"', "health", "Type 1 diabetes"),
    ],
)
def test_labelled_and_shaped_identifiers(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


def test_format_examples_are_not_disclosures() -> None:
    assert found("what does a badge number like KX-20417 look like?") == set()
    assert found("The Apache License, Version 2.0") == set()
    assert found('full_name="John Doe"') == set()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("card 4 5 3 2 0 1 5 1 1 2 8 3 0 3 6 6 please", "payment_card"),
        ("mail j o h n . s m i t h @ g m a i l . c o m", "email"),
        ("my psswrd is kitty123!", "password"),
    ],
)
def test_spaced_out_and_typod_values(text: str, kind: str) -> None:
    kinds = {k for k, _ in found(text)}
    assert kind in kinds


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (
            "card is four five five six, seven three zero two, one nine eight four, four one "
            "seven four, help me",
            "payment_card",
            "four five five six, seven three zero two, one nine eight four, four one seven four",
        ),
        (
            "Visa fourty-seven sixteen, twenty-two ninety, fifty-five eighteen, oh-three-nine-four",
            "payment_card",
            "fourty-seven sixteen, twenty-two ninety, fifty-five eighteen, oh-three-nine-four",
        ),
        ("call me on oh seven seven double oh nine eight one two three four", "phone_number",
         "oh seven seven double oh nine eight one two three four"),
    ],
)  # fmt: skip
def test_digits_written_as_words(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


def test_a_few_number_words_are_just_words() -> None:
    assert found("one or two of them, for three days, then four more") == set()


def test_a_spaced_out_value_is_reported_at_its_place_in_the_input() -> None:
    text = "card 4 5 3 2 0 1 5 1 1 2 8 3 0 3 6 6 please"
    [finding] = rule_findings(text)
    assert text[finding.start : finding.end] == "4 5 3 2 0 1 5 1 1 2 8 3 0 3 6 6"


def test_every_finding_type_has_a_category() -> None:
    assert category_of("payment_card") == "financial"
    assert category_of("learned_health") == "health"
    assert category_of("github_token") == "authentication"  # detect-secrets' types
    assert category_of("device_id") == "device_incident"
