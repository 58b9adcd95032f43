"""Round 3 of the deterministic stage: vendor key formats, labelled keys, security
answers, disclosures about a named person, records in code, handles, share links and
field-named coordinates — each with a near miss that must stay clean."""

from __future__ import annotations

import pytest

from hybridagent.routing.categories import category_of
from hybridagent.routing.privacy import rule_findings


def found(text: str) -> set[tuple[str, str]]:
    return {(f.type, text[f.start : f.end]) for f in rule_findings(text)}


def categories(text: str) -> set[str]:
    return {category_of(f.type) for f in rule_findings(text)}


HEX32 = "9c41d07be2a35f68c0b47e19d2a8f3b6"
HEX64 = HEX32 + "4e7a0c2b9d18f5e3a6c04b7d2e9f1a58"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"the storefront token is shpat_{HEX32}.", f"shpat_{HEX32}"),
        ("VAULT=hvs.Qm7TzK2pLw9Xc4RvN8bYs3Ud", "hvs.Qm7TzK2pLw9Xc4RvN8bYs3Ud"),
        (f"do token: dop_v1_{HEX64}", f"dop_v1_{HEX64}"),
        (f"# mailgun\n# key-{HEX32}", f"key-{HEX32}"),
        ("ci uses glpat-Xw3Rk9TzQm2Lp7Vn4Bc8 here", "glpat-Xw3Rk9TzQm2Lp7Vn4Bc8"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc for the demo", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ],
)
def test_vendor_key_formats_are_credentials(text: str, value: str) -> None:
    assert value in {v for _, v in found(text)}
    assert "authentication" in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "Shopify admin tokens start with shpat_ followed by 32 hex characters.",
        "Set VAULT_TOKEN to your hvs. token before running the script.",
        "the key- prefix marks Mailgun's private keys",
    ],
)
def test_a_sentence_about_a_key_format_is_clean(text: str) -> None:
    assert found(text) == set()


def test_a_key_labelled_on_the_line_before() -> None:
    text = "Weather API key (team card):\n    # 7f3c2a91d04e4b8f9a1c6e2d5b07f4a3\n"
    assert ("labelled_secret", "7f3c2a91d04e4b8f9a1c6e2d5b07f4a3") in found(text)
    text = "TOTP seed for the root login:\n# K7QM4ZPX2WRT6NVB3HYD5LJC7SGE2FUA (delete me)"
    assert ("labelled_secret", "K7QM4ZPX2WRT6NVB3HYD5LJC7SGE2FUA") in found(text)


def test_a_hash_or_a_public_key_label_is_not_a_secret() -> None:
    assert found("sha256 of the wheel:\n    9c41d07be2a35f68c0b47e19d2a8f3b6") == set()
    assert found("public key: abcdefghijklmnopqrstuvwxyzabcdefgh") == set()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('subprocess.run(["mysql", "-u", "root", "-pWren!Gate51"])', "Wren!Gate51"),
        ('LINE = "db-2.internal:5432:*:app:Quill&Fern-7781"', "Quill&Fern-7781"),
        ("requirepass on the cache box is Moss-Harbor-19.", "Moss-Harbor-19"),
        ('os.environ.setdefault("SMTP_PASSWORD", "Brass.Owl.204")', "Brass.Owl.204"),
        ("# session\n# sessionid=q8x2kd7vj3m9p4t1z6w0r5yb", "q8x2kd7vj3m9p4t1z6w0r5yb"),
        ("the bank's phone PIN is 590217", "590217"),
        ("my mother's maiden name is Abernathy", "Abernathy"),
        ("first pet = 'Pickles', first school = Oakfield", "Pickles"),
        ("customer's PHPSESSID 7rk2m9xq4vt1p8zj3w6n0bcy5h came in", "7rk2m9xq4vt1p8zj3w6n0bcy5h"),
    ],
)
def test_credentials_in_commands_files_and_answers(text: str, value: str) -> None:
    assert value in {v for _, v in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        'subprocess.run(["mysql", "-u", "root", "-p"])',  # prompts for the password
        '("password", "Password"), ("api_key", "API Key")',  # form labels
        "    def __init__(self, tokens: ParseResults):",
        "the sample crash log in the docs shows /Users/username/Library/ paths",
        "what makes a good security question for a bank?",
        'os.environ.setdefault("SMTP_PASSWORD", "")',
    ],
)
def test_near_misses_of_credentials_stay_clean(text: str) -> None:
    assert found(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "# Priya is pregnant and hasn't told the team, keep her off the travel rota",
        "Heads up: Tomas is out for chemo on Mondays,\n# please move his reviews.",
        'NOTES["ana.lopes"] = "pending DUI case, no pool cars"',
        "# Oskar asked for no Friday evening calls because of Shabbat.",
        'absence = ("Ruth Adeyemi", "burnout and anxiety", "signed off 3 weeks")',
    ],
)
def test_a_named_person_beside_a_life_term_is_a_disclosure(text: str) -> None:
    assert any(t == "personal_disclosure" for t, _ in found(text))


@pytest.mark.parametrize(
    "text",
    [
        "How is type 1 diabetes different from type 2?",
        "Wie spreche ich einen Kollegen auf Burnout an?",
        "In the novel I'm writing, Aunt Mildred has a gambling problem.",
        "The template says 'Patient: [NAME], Diagnosis: [DIAGNOSIS]'.",
        "# Retry with a shorter visa check when the upstream API is slow.",
    ],
)
def test_a_topic_a_story_or_a_form_is_not_a_disclosure(text: str) -> None:
    assert not any(t == "personal_disclosure" for t, _ in found(text))


@pytest.mark.parametrize(
    "text",
    [
        'visa = ("Keira Nakamura", "C7X24Q91", "2030-02-11")',
        "ACCOUNT = 4471903355  # Elena Marchetti, personal",
        '{"courier": "Dario Vukovic", "ref": "FH-38107"}',
    ],
)
def test_a_code_line_tying_a_name_to_an_id_is_a_record(text: str) -> None:
    assert any(t == "person_name" for t, _ in found(text))


@pytest.mark.parametrize(
    "text",
    [
        "Copyright (c) 2005-2020, Ilya Etingof",
        'AUTHORS = ("Armin Ronacher", "David Lord")',
        'HASH = "SHA256"  # Henrik Berg wrote this',
        "released 2023-10-01 by Maria Lopez",
    ],
)
def test_names_with_years_versions_or_no_id_are_not_records(text: str) -> None:
    assert not any(t == "person_name" for t, _ in found(text))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("our reseller posts as u/quietheron_42 on Reddit", "social_handle"),
        ("Instagram @lena.rides.bikes, 3k followers", "social_handle"),
        ("she is marsh#7731 on Discord", "social_handle"),
        ("STEAM_ID = 76561198011122233", "customer_id"),
        ("album: https://photos.app.goo.gl/Rk3mP9xTq2Lw7Vb", "private_link"),
        ('geofence.add(name="home", lat=48.13743, lon=11.57549)', "coordinates"),
        ('{"lat": -33.86882, "lng": 151.20929}', "coordinates"),
    ],
)
def test_handles_links_ids_and_coordinate_fields(text: str, kind: str) -> None:
    assert kind in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "@pytest.fixture\ndef client(): ...",
        "thanks @davidism for the review",  # no platform named
        "Instagram handles look like @username",
        "see https://photos.google.com/ for the product tour",
        "lat=48.1, lon=11.5",  # too coarse to be a place
    ],
)
def test_decorators_mentions_and_coarse_points_stay_clean(text: str) -> None:
    assert found(text) == set()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("meu CPF é 382.917.460-87, preencha o formulário", "national_id"),
        ("Meine Personalausweisnummer ist LZ6311T48", "national_id"),
        ("offer for Ines: EUR 96,500 base", "salary"),
        ("annual salary\n        $143,200, bonus $21,480", "salary"),
    ],
)
def test_labels_in_other_languages_and_salaries(text: str, kind: str) -> None:
    assert kind in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "the docs use 192.0.2.10 as the server IP — why that range?",
        "the router's admin page is at 192.168.1.1",
        "is the 555-0142 range safe to use? call +1 212 555 0142",
        "the demo call log shows '(555) 010-0199' on every row",
        "In the test suite we use DOB 1970-01-01.",
        "regex to match name@domain.tld and you@yourcompany.com",
        "the sample address is 123 Main Street, Anytown, USA",
        "Copyright (C) 2006 Fernando Perez. <fperez@colorado.edu>",
        "what is a typical base salary for a data engineer?",
    ],
)
def test_placeholders_and_published_values_stay_clean(text: str) -> None:
    assert found(text) == set()


def test_a_documentation_ip_stated_as_ones_own_still_counts() -> None:
    assert ("ip_address", "203.0.113.77") in found("our server at 203.0.113.77 is down")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Kennzeichen M-KB 4821, der Spiegel ist ab", "device_id"),
        ("Plaque FG-482-TK : amende reçue", "device_id"),
        ("MacBook Pro serial C02XK4R7MD6T, liquid damage", "device_id"),
        ("# stolen iPhone (serial\n# F2LZT8Q1N72J)", "device_id"),
        ("the car 1M8GDM9AXKP042788 has a recall", "device_id"),  # a valid VIN check digit
        ("P<GBRSMITH<<JOHN<PETER<<<<<<<<<<<<<<<<<<<<<", "passport_number"),
        ("user name on twitch is 'k1wi_bl4ze_93'", "social_handle"),
        ("Xbox gamertag 'NightOwlTunde'", "social_handle"),
    ],
)
def test_plates_serials_vins_mrz_and_handle_labels(text: str, kind: str) -> None:
    assert kind in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "licence plate recognition works on plate images",
        "the serial port is /dev/ttyUSB0",
        "the car 1M8GDM9AXKP042789 has a recall",  # a wrong check digit
        "In the fan fiction, the character's gamertag is 'DragonSlayer'",
        "Keyword.Pseudo: 'nobold'",
        'return cls(scheme, {"username": username, "password": password})',
    ],
)
def test_near_misses_of_plates_serials_and_handles_stay_clean(text: str) -> None:
    assert found(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "Tengo VIH y empiezo el tratamiento el lunes, ¿qué es normal?",
        "Ich habe seit 2019 Multiple Sklerose, muss ich das sagen?",
        "Meine Mutter hat gestern die Diagnose Brustkrebs bekommen.",
        "my cousin Ana is in rehab again, how do I help",
    ],
)
def test_health_and_family_told_in_other_languages(text: str) -> None:
    assert categories(text) & {"health", "ancillary"}


@pytest.mark.parametrize(
    "text",
    [
        "¿Cuáles son los síntomas del VIH?",
        "Was ist Multiple Sklerose und wie wird sie behandelt?",
        "How do rehab programmes for addiction usually work?",
    ],
)
def test_the_same_topics_asked_about_stay_clean(text: str) -> None:
    assert found(text) == set()
