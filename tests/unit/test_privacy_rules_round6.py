"""Round 6 of the detector: obfuscation a reader sees through, and the people and places
everyone knows. Each rule with a positive and a near miss."""

from __future__ import annotations

import pytest

from hybridagent.routing.learned import packaged_model
from hybridagent.routing.lookalikes import folded
from hybridagent.routing.privacy import rule_findings, scan


def types(text: str) -> set[str]:
    return {f.type for f in rule_findings(text)}


def test_folding_keeps_every_offset() -> None:
    for text in (
        "pаssроrt nо. Х4829",
        "ｍｙ\u3000ａｌｌｅｒｇｙ",
        "bl00d typ3",
        "IBAN: DE28\n7847 5349",
    ):
        assert len(folded(text)) == len(text)
    assert folded("pаssроrt") == "passport"  # Cyrillic а, р, о
    assert folded("ｍｙ\u3000ａｌｌｅｒｇｙ") == "my allergy"
    assert folded("on w4rf4r1n") == "on warfarin"
    assert folded("serial C02ZK4P1MD6T") == "serial C02ZK4P1MD6T"  # a serial is no leet word
    assert folded("2015-04-12T17:33:02") == "2015-04-12T17:33:02"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my pаssроrt nо. is Х48290157", "passport_number"),  # Cyrillic and Latin mixed
        ("ｍｙ\u3000ａｌｌｅｒｇｙ：\u3000ｐｅｎｉｃｉｌｌｉｎ", "health"),
        ("im 0n w4rf4r1n since my str0ke", "health"),
        ("IBAN: DE44\n5001 0517\n5407 3249 31", "iban"),
        ("wifi password: S.u.n.n.y.D.a.y.!.2.0.1.9", "password"),
        ("Can you suggest a cake? My wife Sunita hates lemon.", "personal_disclosure"),
        ("mein Sohn Finn wird gemobbt", "personal_disclosure"),
        ("btw I'm a backend dev at Spotify, been there 3 years", "employment"),
        ("I'm on 20mg fluoxetine daily", "health"),
        ("I've been sober 214 days after rehab", "health"),
        ("ping jane.roe@gmail.com about the release", "email"),
        ("From: Jane Doe <jane.doe@gmail.com>", "email"),
        ("This was reported by Kofi Boateng (kofi.b@outlook.com), call after 6", "email"),
        ("card 4539 1488 0343 6467 exp 04/29", "payment_card"),
        ("our server 81.27.199.12 is down", "ip_address"),
    ],
)
def test_found(text: str, kind: str) -> None:
    assert kind in types(text), types(text)


@pytest.mark.parametrize(
    "text",
    [
        "What's a normal HbA1c range for adults without diabetes?",
        "What are early signs of Parkinson's disease?",
        "What does the subnet mask 255.255.255.0 mean?",
        "The docs give 123-45-6789 as a number the SSA never issues.",
        "Test data uses EMPLOYEE_ID=E-000000 as a sentinel.",
        "Is 10 Downing Street, London SW1A 2AA open to visitors?",
        "the address of the White House, 1600 Pennsylvania Avenue NW",
        "my wife and I want a cake recipe",
        "I'm a fan of Rust",
        " -- Jane Roe <jane.roe@debian.org>  Mon, 01 Jan 2024 10:00:00 +0100",
        "Signed-off-by: Jane Roe <jane@roe.dev>",
        "# Written by Bruno Haible <bruno@clisp.org>, 2001.",
        "Patches from Eric Rasmussen\n\t<ear@usfirst.org>, but somewhat changed by me.",
        "Mark Nelson <markn@ieee.org> wrote an article about zlib.",
        "Send an empty email to pod-people-subscribe@perl.org to subscribe.",
        "Set Standards-Version: 4.5.0.2",
        "Major changes in 3.31.0.2",
        "757A 7586 7CE0 7D73 7DB1 7F8C 8154 8221 8591 8941",
        "TEMP=$(getopt -o 'ab:c::' --long 'a-long' -n 'example')",
    ],
)
def test_clean(text: str) -> None:
    assert types(text) == set()


def test_the_learned_stage_reads_the_folded_text() -> None:
    plain = "my brother andres is gay and our parents do not know"
    disguised = "mу brоthеr аndrеs іs gау аnd оur pаrеnts dо nоt knоw"  # Cyrillic у, о, е, а, і
    model = packaged_model()
    assert folded(disguised) == plain
    found = {f.type for f in scan(plain, learned=model)}
    assert found and found == {f.type for f in scan(disguised, learned=model)}
