"""Regenerates privacy_labelled.jsonl: a labelled set larger than ../shared/privacy-dev,
from hand-written templates filled with invented values (seeded, so the file is stable).

    python tests/data/make_privacy_set.py > tests/data/privacy_labelled.jsonl
"""

from __future__ import annotations

import json
import random
import string

rng = random.Random(20261122)


def chars(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


def luhn_number(prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


def grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    check = 98 - number % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def secrets() -> list[str]:
    return [
        f'openai.api_key = "sk-proj-{chars(ALNUM, 48)}"  # why 401?',
        f"export OPENAI_API_KEY=sk-{chars(ALNUM, 48)}",
        f"ANTHROPIC_API_KEY=sk-ant-api03-{chars(ALNUM + '-_', 80)} in my .env does not load",
        f"github token ghp_{chars(ALNUM, 36)} stopped working",
        f"CI uses glpat-{chars(ALNUM, 20)} to push tags, is that scoped right?",
        f"aws_access_key_id = AKIA{chars(string.ascii_uppercase + string.digits, 16)}",
        f"stripe live key: sk_live_{chars(ALNUM, 32)}",
        f"slack bot token xoxb-{chars(string.digits, 12)}-{chars(string.digits, 12)}-{chars(ALNUM, 24)}",
        f"use this google key AIza{chars(ALNUM + '-_', 35)} for the maps embed",
        f"mysql://root:{chars(ALNUM, 10)}!@db.internal:3306/shop fails to connect",
        f"redis://default:{chars(ALNUM, 16)}@cache-1:6379/0 times out",
        f"the admin password is {chars(string.ascii_lowercase, 6)}{rng.randint(10, 99)}! please reset it",
        f"my pin is {rng.randint(1000, 9999)}{chars(string.ascii_uppercase, 2)} for the door",
        f"passphrase: {chars(string.ascii_lowercase, 5)}-{chars(string.ascii_lowercase, 5)}-{rng.randint(100, 999)}",
        f"Authorization: Bearer {chars(ALNUM, 40)}",
        f"sendgrid SG.{chars(ALNUM, 22)}.{chars(ALNUM, 43)} bounced",
        f"npm token npm_{chars(ALNUM, 36)} leaked in a log?",
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(chars(ALNUM + "+/", 64) for _ in range(3))
        + "\n-----END RSA PRIVATE KEY-----\nwhy won't ssh accept it?",
        f'key = ("sk-proj-{chars(ALNUM, 24)}"\n       "{chars(ALNUM, 24)}")  # split over lines',
    ]


def personal() -> list[str]:
    first = rng.choice(["ana", "li", "omar", "greta", "ravi", "sofia", "tom", "yuki"])
    return [
        f"email {first}.{chars(string.ascii_lowercase, 5)}@{chars(string.ascii_lowercase, 7)}.com the invoice",
        f"ring me at +1 415 {rng.randint(200, 999)} {rng.randint(1000, 9999)} tonight",
        f"my number is (212) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        f"call +49 30 {rng.randint(1000000, 9999999)} about the lease",
        f"card {grouped(luhn_number('4', 16))} was declined",
        f"visa {luhn_number('4', 16)} exp 11/27",
        f"pay to {iban('DE', str(rng.randint(10**17, 10**18 - 1)))} by Friday",
        f"my IBAN is {iban('GB', 'NWBK' + str(rng.randint(10**13, 10**14 - 1)))}",
        f"SSN {rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)} on the W-2",
        f"my passport no. is {chars(string.ascii_uppercase, 1)}{rng.randint(10**7, 10**8 - 1)}",
        f"date of birth: {rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1950, 2005)}",
        f"I was born on {rng.choice(['May', 'June', 'October'])} {rng.randint(1, 28)}, {rng.randint(1950, 2005)}",
        f"deliver to {rng.randint(10, 9999)} {rng.choice(['Maple', 'Cedar', 'Harbor'])} Street, Springfield",
        f"my psychiatrist changed my medication to {rng.randint(10, 50)} mg sertraline",
        f"I was diagnosed with hepatitis B last {rng.choice(['year', 'spring'])}",
        f"my salary is ${rng.randint(40, 200)},000 a year, is that fair?",
        f"they pay me {rng.randint(3, 9)},{rng.randint(100, 999)} EUR monthly",
        f"block traffic from {rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    ]


def custom() -> list[tuple[str, list[str]]]:
    return [
        ("Draft the press note for Operation Nightjar.", ["Operation Nightjar"]),
        ("the ACME-merger file is attached", ["ACME-merger"]),
        ("Summarise what Kestrel Labs told us in the call", ["Kestrel"]),
        ("Internal only: the codename is BLUEJAY", ["bluejay"]),
    ]


BENIGN = [
    "Write a haiku about autumn leaves.",
    "What is the time complexity of quicksort?",
    "My keyboard keeps double-typing the letter e, any fix?",
    "The monkey wrench is in the garage.",
    "Explain key-value stores vs document stores.",
    "What's the key difference between TCP and UDP?",
    "How long should a password be in 2026?",
    "Is a passphrase better than a password?",
    "Set OPENAI_API_KEY=sk-... in your shell before running the script.",
    "Use api_key='<your-api-key>' in the config.",
    "Replace YOUR_API_KEY with the key from the dashboard.",
    "Is 000-00-0000 a valid SSN?",
    "Why does 0000 0000 0000 0000 fail Luhn?",
    "git show 3f786850e387550fdab836ed7e6dc881de23001b",
    "The request id was 550e8400-e29b-41d4-a716-446655440000.",
    "Python 3.11.7 on Debian 12.2.0 fails to build numpy 2.4.6",
    "Run pip install llama-cpp-python==0.3.36 and retry.",
    "The meeting is on 14 March 2026 at 10:00.",
    "Our office is open from 9 to 5, Monday to Friday.",
    "What is 1234 * 5678?",
    "Convert 1,500 EUR to USD at today's rate.",
    "Average developer salaries in Berlin, roughly?",
    "How do I read a blood test report in general?",
    "What are the symptoms of diabetes?",
    "Explain how JWT signatures are verified.",
    "What does a PEM private key file look like, in general terms?",
    "How do connection strings for PostgreSQL work?",
    "Email me a summary of this article (no address needed, just the text).",
    "Send a message to user@example.com in the docs sample.",
    "Phone numbers in the US have ten digits, right?",
    "What is an IBAN and how many characters does it have?",
    "Localhost is 127.0.0.1 and 0.0.0.0 binds all interfaces.",
    "Sort this list: 5, 3, 9, 1, 7.",
    "Describe the water cycle.",
    "Write a limerick about a cat named Pixel.",
    "Translate 'good morning' into Finnish.",
    "Give me a regex for matching email addresses.",
    "What is the capital of Canada?",
    "Recommend three books about distributed systems.",
    "How does the Luhn algorithm work?",
    "Explain OAuth2 refresh tokens.",
    "What happens when a token expires in an LLM context window?",
    "How many tokens is 32k characters roughly?",
    "The street I grew up on had maple trees.",
    "Write SQL that selects users born after 1990.",
    "Plan a 3 day trip to Kyoto.",
    "Refactor: def f(x): return x*x",
    "What is the birthday paradox?",
    "Calculate compound interest on 10,000 at 5% for 10 years.",
]


# Fail closed: a value in a credential or card format counts even when it is a known
# example or test value, since the router cannot know it is fake (issue 11).
FAIL_CLOSED = [
    "The test card 4111 1111 1111 1111 is a Stripe example, right?",
    "DB_PASSWORD=Tr0ub4dor&3",
    'DB_PASSWORD="Tr0ub4dor&3"',
    "export API_TOKEN=Zx81kQ2mPa9",
    "AKIAIOSFODNN7EXAMPLE",
    "4111111111111111",
]


def main() -> None:
    rows: list[dict[str, object]] = []
    for _ in range(3):
        rows += [{"text": t, "sensitive": True, "kind": "secret"} for t in secrets()]
        rows += [{"text": t, "sensitive": True, "kind": "pii"} for t in personal()]
    rows += [
        {"text": t, "sensitive": True, "kind": "custom", "terms": terms} for t, terms in custom()
    ]
    rows += [
        {
            "text": "The monkey sat on the keyboard.",
            "sensitive": False,
            "kind": "benign",
            "terms": ["key"],
        },
        {
            "text": "A keyboard and a key-value store.",
            "sensitive": False,
            "kind": "benign",
            "terms": ["key"],
        },
    ]
    rows += [{"text": t, "sensitive": False, "kind": "benign"} for t in BENIGN]
    rows += [{"text": t, "sensitive": True, "kind": "secret"} for t in FAIL_CLOSED]
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
