"""Round 5 of the detector: each change with a positive and a near miss.

The near misses are what long developer content holds: licence headers with an
organisation's address, team mailboxes, doctest output, documentation that says it
shows an example, CamelCase names that contain a life term, code expressions after a
secret-named variable, headings, and docstrings the learned stage once read as messages
about people."""

from __future__ import annotations

import pytest

from hybridagent.routing.learned import about_someone, packaged_model
from hybridagent.routing.privacy import rule_findings, scan


def types(text: str) -> set[str]:
    return {f.type for f in rule_findings(text)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a comment put into another comment's sentence is read on its own line too
        (
            "    # Values such as\n"
            "    # Per her GP's letter, Imogen Reyes has epilepsy and must not drive.",
            "personal_disclosure",
        ),
        # a sentence does not run back over a line of code
        (
            "        result = fetch(items[0], retries)\n"
            "        # remind Tomas Berg about the custody hearing",
            "personal_disclosure",
        ),
        ("# Keep it quiet: Ruth Adeyemi is on parole until March.", "personal_disclosure"),
        ("Hamid Sultani was fired for harassment last spring.", "personal_disclosure"),
        ("# Lars Moe tested positive again and stays home.", "personal_disclosure"),
        ("log: motion in Chiara Bassi's bedroom at 02:14", "personal_disclosure"),
        ("Export of Pavel Novak's browsing history, see attachment", "personal_disclosure"),
        ("Nuno Reis's latest labs: HbA1c 8.1% (March)", "personal_disclosure"),
        ('OWNERS = ["kbaptiste", "r.oyelaran"]  # Kwame Baptiste, Remi Oyelaran', "customer_id"),
        ("INFO sso: user=tfalk (Tilde Falk) signed in from Malmo", "customer_id"),
        ('HANDLES = {"Soren Dahl": "@soren_d_88"}', "customer_id"),
        ("    # Sanne Visser votes Labour, keep the politics chat civil", "personal_disclosure"),
        ("# Jonas Eklund takes methotrexate for his arthritis", "personal_disclosure"),
        ("# Mei Tanaka is a Jehovah's Witness, no birthday cake", "personal_disclosure"),
        ("21:04 camera[garden, Okafor residence] person detected", "personal_disclosure"),
        ("2025-02-01T07:12:00Z robot-88 owner=Efua Mensah error=brush_jam", "person_name"),
        ("    # laptop_serial: QX7RT2M9 (issued to Ines Duarte)", "device_id"),
        ('"AdminLogin": "r.kowal.adm",', "customer_id"),
        ("MAINTAINER = '@jlee_ops (Jun Lee)'", "customer_id"),
        ("Scan of Marta Ruiz's DNI (50371946-T) is in the bucket.", "national_id"),
        ('"AnnaHomeGps": "52.37403, 4.88969",', "coordinates"),
        (
            '    hr_bpm=151 spo2=89 user="Ayla Demir" alert=arrhythmia-suspected',
            "personal_disclosure",
        ),
        ("    ESCALATION_PHONE: +44 7911 305118", "phone_number"),
        ("sign in as m.ortiz with the one-time password 772 019 she sent", "password"),
        ("# Bram Jansen joined the union and is organising the night shift", "personal_disclosure"),
        ("// Ruth Levy is an observant Jew and is offline on Saturdays", "personal_disclosure"),
        (" * steuer_id: 52 917 386 204 (Jonas Weber)", "tax_id"),
        ('# 03:12 camera[porch] motion owner="Lindqvist family" clip=c1.mp4', "person_name"),
        (
            "// Priya Nair's son starts at Oakfield Primary, so she leaves at 3",
            "personal_disclosure",
        ),
        ("- Elin Berg rents the flat at Sjögatan 12, 41117 Göteborg every summer.", "home_address"),
        ("Ｍａｉｌ: ｊｏｒｅｎ.ｂａｋｋｅｒ＠ｋｐｎｍａｉｌ.ｎｌ", "email"),
        ("Sunflower7Quarry!", "password"),
        ("F17XK2P9MQ4T", "device_id"),
        ("@tove.lindqvist", "social_handle"),
        ("BSN twee drie acht een nul vier vijf negen zeven", "national_id"),
        ("my search history: 'hiv test near me', 'is it curable' - explain", "personal_disclosure"),
        # a phone on a doctest's input line still counts
        ('>>> notify("+44 7700 914552", "Your parcel is waiting")', "phone_number"),
    ],
)
def test_found(text: str, kind: str) -> None:
    assert kind in types(text)


@pytest.mark.parametrize(
    "text",
    [
        "# along with this program; if not, write to the Free Software Foundation, Inc.,\n"
        "# 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA",
        "Report vulnerabilities to security@kestrel-db.org, not the public tracker.",
        ">>> format_number(n, INTERNATIONAL)\n'+49 30 901820'",
        'For example, the number of the\n    Acme Zurich office is written as "+41 44 668 1800".',
        "class EvictionPolicy(Enum):\n    LRU = 1",
        "Return client-specific diagnostic metadata (region, credentials).",
        "    tokens = [ranks[part] for part in parts]",
        "### Adding New Secrets to Baseline:\n\nThis will rescan your codebase.",
        "    auth_token: os.environ/GUARDRAILS_AUTH_TOKEN",
        '--values \'{"api_key": "sk-123", "api_base": "https://example.azure.com"}\'',
        '    yield Item(name="Portal Gun", price=999.99)',
        "Content-Encoding: gzip\nheaders['content-encoding'] = 'gzip'",
        "    'H': 'Hindu Undivided Family (HUF)',",
        "Use CARD_TOKEN=tok_placeholder in the test env, never a real PAN.",
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----  (paste your key here)",
        "Form text: 'Blood type: ____  Allergies: ____' - how should we lay it out?",
        "the character in my play is diagnosed with leukaemia in Act 2",
        "How do I clear my browsing history in Firefox?",
        "hello",
        "https://example.com/docs",
        "  token: 'my-auth-token-here'",
        "  _authToken: 'deadbeefcafebad',",
        "            fds_to_pass = [listener.fileno(), alive_r]",
        "npm approve-scripts --no-allow-scripts-pin canvas",
        "# Author: Barry Warsaw\n# Contact: email-sig@python.org",
        "report the problem on python-list or idle-dev@python.org.",
        "__author__ = 'Bob Ippolito <bob@redivi.com>'",
        "  let pwsh = '$basedir=Split-Path $MyInvocation.MyCommand.Definition -Parent'",
        "    host: '1.2.3.4',",
        "- Issue #23672: Allow Idle to edit files. Patch by Roger Serwy.",
        "  PYTHONPATH=/home/knight/src/gyp/trunk/test/lib\n  TESTGYP_FORMAT=make",
        'def real_name(magic_func):\n    """Find the real name of the magic."""',
        "Non-standard values are silently converted to 'vpc'.",
        '"AccountId": "123456789012",',
        '"principalSubscriber": "111122223333",',
        '"UserName": "Bob",',
        '"OutputLocation": "s3://demo-bucket/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111.csv"',
        "--role-arn arn:aws:iam::444455556666:role/eks-Cluster-ServiceRole-j1k7AfTIQtnMq2",
    ],
)
def test_clean(text: str) -> None:
    assert types(text) == set()


def test_long_content_windows_need_a_person() -> None:
    docs = (
        "Connection states.\n\n"
        + "\n".join(f"    State {i}: the driver did something ordinary here." for i in range(12))
        + '\n    """\n    No attempt was made to contact the server.\n    """\n'
        + "\n".join(f"    Value {i} is kept for backward compatibility only." for i in range(8))
    )
    assert len(docs) > 500
    start = docs.index("No attempt")
    assert not about_someone(docs, start, start + 40)
    assert not [f for f in scan(docs, learned=packaged_model()) if f.type.startswith("learned_")]
    message = "My sister Dana moved in with us after the divorce; she is still very low."
    at = len(docs)
    assert about_someone(docs + "\n" + message, at + 1, at + 1 + len(message))
