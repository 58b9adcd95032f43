"""Personal data: contact details, payment data, government ids, IP addresses, dates of
birth, home addresses, and health or salary details told about oneself; facts about
other people are routing/disclosures.py's.

Formats are checked by the libraries that know them: phonenumbers, and python-stdnum for
the Luhn, IBAN and US SSN checks (which also reject published dummy values). Each
detector runs only near its anchor (digits, '@') or when its keywords occur.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import phonenumbers
import re2
from stdnum import iban, luhn
from stdnum.us import ssn

from hybridagent.routing.disclosures import (
    ATTRIBUTION,
    NOT_A_DISCLOSURE,
    find_disclosures,
    find_person_records,
)
from hybridagent.routing.findings import Finding, search_windows, spans_of, windows

_AT = re.compile("@")
_DIGIT_RUN = re.compile(r"\d[\d \-().+/]{5,}\d")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+\.)+[A-Za-z]{2,}\b")
_EXAMPLE_DOMAINS = re.compile(
    r"@(?:[\w.-]+\.)?(?:example\.(?:com|org|net)|test|invalid|(?:your|my)?(?:domain|company)"
    r"\.(?:tld|com)|\w+\.tld|your\w*\.\w+|example\.\w+)$",
    re.IGNORECASE,
)
_PHONE_CANDIDATE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().\-]{6,18}\d(?!\w|\.\w)")
_CARD = re.compile(r"(?<![\d.-])(?:\d[ \-]?){12,18}\d(?![\d-]|\.\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_PASSPORT = re.compile(r"(?i:passport)[^\n]{0,30}?\b([A-Z]{1,2}\d{6,9})\b")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"
)
_DOB = re.compile(
    rf"(?i:\bborn\b|\bdate of birth\b|\bd\.?o\.?b\.?\b|\bbirthday\b)[^.\n]{{0,20}}?({_DATE})"
)
_STREET_WORDS = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln",
    "Drive", "Dr", "Court", "Ct", "Way", "Place", "Pl", "Terrace", "Close", "Crescent",
)  # fmt: skip
# The epoch and the other dates forms and fixtures use for "unknown".
_PLACEHOLDER_DATE = re.compile(r"1970-01-01|1900-01-01|0?1[/.]0?1[/.](?:1900|1970)")
_FAKE_STREET = re.compile(r"\b(?:Example|Sample|Test|Fake|Anytown|Nowhere)\b|^123 Main\b")
# An organisation's address (`Free Software Foundation, Inc., 51 Franklin Street`): an
# office, published, not anyone's home.
_ORGANISATION_BEFORE = re.compile(
    r"\b(?:Inc|Ltd|LLC|L\.L\.C|GmbH|AG|S\.A|Corp|Corporation|Foundation|University|Company"
    r"|Institute|Limited|PLC|B\.V)\.?,?[ \t]*(?:\n[ \t#*/]*)?$"
)
# A European address with no street word: "Storvik 7, 83192 Ostersund", "Via Roma 12,
# 00184 Roma", "Lindenweg 4a, D-10115 Berlin" (a house number, a postcode, a town).
_POSTCODE_ADDRESS = re2.compile(
    r"\b[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ.-]+(?: [A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ.-]+)? \d{1,4}[a-zA-Z]?, "
    r"(?:[A-Z]{1,2}-)?(\d{4,5}) [A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+"
)
_YEAR = re.compile(r"(?:19|20)\d\d")  # "Version 2, 1991 Free…": a year, no postcode
# Addresses the whole world knows: a head of government's, a company's published one.
_FAMOUS_ADDRESS = re.compile(
    r"10 Downing Street|1600 Pennsylvania Avenue|221B? Baker Street|350 Fifth Avenue"
    r"|1 Infinite Loop|1 Apple Park Way|1600 Amphitheatre Parkway|1 Hacker Way|1 Microsoft Way"
)
_STREET_GATE = re.compile(rf" (?:{'|'.join(_STREET_WORDS)})\b")
_ADDRESS = re.compile(rf"\b\d{{1,6}}\s+(?:[A-Z][a-z]+\s+){{1,3}}(?:{'|'.join(_STREET_WORDS)})\b\.?")
# A disclosure about oneself ("my GP suspects", "I was diagnosed"), not a question in
# general terms ("how do I read a blood test").
_FIRST_PERSON_MARKERS = (
    "my ", "mine", "i was", "i have", "i've", "i am", "i'm", "ich habe", "ich bin", "mein",
    "tengo", "estoy", "j'ai", "je suis", "mi ", "me han", "ho ", "tenho", "estou", "meu", "minha",
)  # fmt: skip
_FIRST_PERSON = re.compile(
    r"\b(?:my|mine|I was|I have|I've|I am|I'm|ich habe|ich bin|mein\w*|tengo|estoy|j'ai"
    r"|je suis|mi|me han|ho|tenho|estou|meu|minha)\b",
    re.IGNORECASE,
)
_HEALTH_STEMS = (
    "diagnos", "hba1c", "glucose", "diabetes", "cancer", "tumo", "hiv", "hepatitis",
    "depression", "anxiety", "prescri", "blood test", "medication", "chemotherapy",
    "pregnan", "my gp", "therapist", "psychiatr", "cholesterol", "blood pressure", "biopsy",
    "sklerose", "sclero", "vih", "krebs", "cáncer", "cancro", "câncer", "diab", "endometrio",
    "epilep", "depres", "schwanger", "embarazad", "enceinte", "incinta", "grávida", "insulin",
    "quimio", "chemo", "allerg", "penicillin", "rehab", "sober", "relapse", "fluoxetine",
    "sertraline", "citalopram", "lexapro", "zoloft", "prozac", "wellbutrin", "seroquel",
    "lithium", "methadone", "warfarin", "metformin", "levothyroxine", "adderall", "ritalin",
)  # fmt: skip
# One RE2 pass for all the stems, where `in` would scan the input once per stem.
_HEALTH_GATE = re2.compile("|".join(re.escape(stem) for stem in _HEALTH_STEMS))
_HEALTH = re.compile(
    r"\b(?:diagnos\w*|HbA1c|glucose|diabetes|cancer|tumou?r|HIV|hepatitis|depression|anxiety"
    r"|prescri\w*|blood test|medication|chemotherapy|pregnan\w*|my GP|therapist|psychiatr\w*"
    r"|cholesterol|blood pressure|biopsy|\w*sklerose|scl[ée]rose|esclerosis|VIH|\w*krebs|c[áâ]ncer"
    r"|cancro|diab[èe]te\w*|endometriosi\w*|epileps\w*|depresi[óo]n|d[ée]pression\w*"
    r"|schwanger|embarazada|enceinte|incinta|gr[áa]vida|insulin\w*|quimio\w*|chemo\w*"
    r"|diagnose|diagnosticad\w*|diagnostiqu\w*|allerg\w*|penicillin|rehab|sober|relaps\w*"
    r"|fluoxetine|sertraline|citalopram|lexapro|zoloft|prozac|wellbutrin|seroquel|lithium"
    r"|methadone|warfarin|metformin|levothyroxine|adderall|ritalin)\b",
    re.IGNORECASE,
)
_SALARY_WORDS = ("salar", "wage", "income", "pay", "paid", "earn", "bonus", "offer", "gehalt")
_SALARY = re.compile(
    r"(?i:\b(?:salar(?:y|ies|io|ié)|wages?|income|pay ?check|pays?|paid|earn\w*|bonus|offer"
    r"|gehalt|salaire|sueldo)\b)(?:[^.\n]|\n[ \t#/*]*){0,30}?"
    r"((?:[$€£]\s?\d[\d,.]*\d(?:k\b)?)|(?:\d[\d,.]*\d\s?(?:k\b|EUR|USD|GBP|CHF|€|\$|£))"
    r"|(?:(?-i:EUR|USD|GBP|CHF)\s?\d[\d,.]*\d))"
)
_SALARY_GATE = re2.compile(r"(?i)\b(?:salar|wage|income|pay|paid|earn|bonus|offer|gehalt|sueldo)")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def find_personal_data(text: str, lower: str | None = None) -> Iterator[Finding]:
    lower = text.lower() if lower is None else lower
    yield from _numbers(text)
    yield from _emails(text)
    if "passport" in lower:
        for match in _PASSPORT.finditer(text):
            yield Finding(*match.span(1), "passport_number")
    if any(word in lower for word in ("born", "birth", "dob", "d.o.b")):
        for match in _DOB.finditer(text):
            if not _PLACEHOLDER_DATE.fullmatch(match.group(1)):
                yield Finding(*match.span(1), "date_of_birth")
    if any(word in lower for word in _SALARY_WORDS):
        near = windows(len(text), spans_of(_SALARY_GATE, text), before=0, after=90)
        for match in search_windows(_SALARY, text, near):
            yield Finding(*match.span(1), "salary")
    if _STREET_GATE.search(text):
        for match in _ADDRESS.finditer(text):
            after = text[match.end() : match.end() + 30]
            if not (
                _FAKE_STREET.search(match.group())
                or _FAMOUS_ADDRESS.match(match.group())
                or "Anytown" in after
                or _ORGANISATION_BEFORE.search(text, max(0, match.start() - 60), match.start())
            ):
                yield Finding(match.start(), match.end(), "home_address")
    for place in _POSTCODE_ADDRESS.finditer(text):
        if not _YEAR.fullmatch(place.group(1)) and not _ORGANISATION_BEFORE.search(
            text, max(0, place.start() - 60), place.start()
        ):
            yield Finding(place.start(), place.end(), "home_address")
    if _HEALTH_GATE.search(lower) and any(m in lower for m in _FIRST_PERSON_MARKERS):
        yield from _health(text)
    yield from find_disclosures(text)
    yield from find_person_records(text)


def _numbers(text: str) -> Iterator[Finding]:
    """Cards, IBANs, SSNs, IP addresses and phone numbers: all near a run of digits."""
    near_digits = windows(len(text), spans_of(_DIGIT_RUN, text), before=16, after=8)
    if not near_digits:
        return
    for match in search_windows(_CARD, text, near_digits):
        digits = re.sub(r"\D", "", match.group())
        if (
            13 <= len(digits) <= 19
            and len(set(digits)) > 1
            and luhn.is_valid(digits)
            and not _in_hex_table(text, match.start())
        ):
            yield Finding(match.start(), match.end(), "payment_card")
    for match in search_windows(_IBAN, text, near_digits):
        # The IBAN checksum only: a bank's own check digits inside it vary by country. The
        # pattern may run on into the next words (`… BIC BARCGB22`): drop them until valid.
        value = match.group()
        while value and not iban.is_valid(value, check_country=False):
            value = value.rsplit(" ", 1)[0] if " " in value.strip() else ""
        if len(value) >= 15:
            yield Finding(match.start(), match.start() + len(value), "iban")
    for match in search_windows(_SSN, text, near_digits):
        number = match.group().replace(" ", "-")
        if ssn.is_valid(number) and number != "123-45-6789":  # the SSA's own example
            yield Finding(match.start(), match.end(), "us_ssn")
    for match in search_windows(_IPV4, text, near_digits):
        if (
            _is_identifying_ip(match.group())
            and not _VERSION_BEFORE.search(text, max(0, match.start() - 24), match.start())
            and not (_in_doc_network(match.group()) and _shows_an_example(text, match.start()))
            and not _CIDR_SUFFIX.match(text, match.end())  # 10.0.0.0/16: a network, no host
        ):
            yield Finding(match.start(), match.end(), "ip_address")
    for candidate in search_windows(_PHONE_CANDIDATE, text, near_digits):
        phones = list(_phones(candidate))  # most candidates are none: check those first
        at = candidate.start()
        if phones and (
            _LABELLED_FIELD.search(text, max(0, at - 40), at)
            or not (_doctest_output(text, at) or _wrapped_example(text, at))
        ):
            yield from phones


# `ONCALL_PHONE: +44 …`, `phone = "…"`: a field's value is data, whatever the prose around.
_LABELLED_FIELD = re.compile(
    r"(?:^|\n)[ \t#/*-]*[\"']?[A-Za-z][\w.-]*[\"']?[ \t]*[:=][ \t]*[\"']?$"
)
_DOCTEST_LINE = re.compile(r"[ \t]*(?:>>>|\.\.\.)(?:[ \t]|$)", re.MULTILINE)


def _doctest_output(text: str, at: int) -> bool:
    """Is `at` on the output line of a doctest (the line after `>>> format(x)`)? That is
    what a library printed for its example; what was typed on the `>>>` line still counts."""
    line = text.rfind("\n", 0, at) + 1
    if line == 0 or _DOCTEST_LINE.match(text, line):
        return False
    previous = text.rfind("\n", 0, line - 1) + 1
    return _DOCTEST_LINE.match(text, previous) is not None


_CIDR_SUFFIX = re.compile(r"/\d{1,2}\b")
# A version number that looks like an address: "Standards-Version: 4.5.0.2", "changes in
# 3.31.0.2", "V8 is at 5.0.71.47".
_VERSION_BEFORE = re.compile(
    r"(?i)(?:version|release|changes in|upgrade to|update to|bump to|is at|\bv)[:\s=]*$"
)
# Four-digit groups among hex ones (`5D17 5EB7 … 8154 8221 8591 8941`): code points, not
# a card number.
_HEX_GROUP = re.compile(r"\b(?=[0-9A-F]*[A-F])[0-9A-F]{4}\b")


def _in_hex_table(text: str, at: int) -> bool:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start : len(text) if end < 0 else end]
    return len(_HEX_GROUP.findall(line)) >= 2 or "[." in line


# A team's or a function's mailbox (security@, support@, noreply@): no one person's.
_ROLE_MAILBOX = re.compile(
    r"(?i)(?:security|support|info|admin|noreply|no-reply|help|contact|sales|privacy|abuse"
    r"|webmaster|postmaster|hostmaster|team|hello|press|legal|maintainers?|bugs?|feedback"
    r"|billing|jobs|careers|licensing|opensource|conduct|office|enquiries|marketing|news"
    r"|newsletter|notifications|community|partners|compliance|dpo|gdpr"
    # a project's mailing lists: idle-dev@, email-sig@, python-list@
    r"|[\w.-]+-(?:sig|dev|devel|list|users|announce|discuss|request|commits|general|bugs|people"
    r"|subscribe|unsubscribe|maintainers|team)|bug-[\w.-]+|pkg-[\w.-]+)@"
)


# "Written by Bruno Haible <bruno@…>", "Patches from Eric Rasmussen\n\t<ear@…>", "Thanks
# Rogério Brito <…>": a name credited for work, in the form software credits people.
_CREDIT = re.compile(
    r"(?i)\b(?:written|modified|maintained|contributed|reported|patch(?:es)?|fix(?:ed)?|thanks"
    r"|courtesy|credits?|ported|originally|authored|created|report and fix) (?:by|from|to)?"
    r"[^\n<>@;(]{0,60}\n?[ \t]*<$"
)
_NAMED_ADDRESS = re.compile(r"[A-Z][\w.'-]+(?: [A-Z][\w.'-]+)+ <$")  # "Mark Nelson <markn@…> wrote"


def _credited(text: str, at: int) -> bool:
    """Is the e-mail at `at` a credit: `Name <address>` (the form software credits people
    in) after "written by", "thanks", …, or one a sentence says wrote something? An
    address in prose ("reported by Kwame (kwame@…)", "contact her at …") still counts."""
    before = text[max(0, at - 100) : at]
    if _CREDIT.search(before):
        return True
    return (
        _NAMED_ADDRESS.search(before) is not None
        and re.match(r"[^>\n]*> (?:wrote|is|maintains|created)\b", text[at : at + 80]) is not None
    )


def _emails(text: str) -> Iterator[Finding]:
    at_signs = windows(len(text), spans_of(_AT, text), before=64, after=256)
    for match in search_windows(_EMAIL, text, at_signs):
        if _EXAMPLE_DOMAINS.search(match.group()) or _ROLE_MAILBOX.match(match.group()):
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        if ATTRIBUTION.search(text, line_start, match.start()) or _credited(text, match.start()):
            continue
        yield Finding(match.start(), match.end(), "email")


# RFC 5737's documentation ranges (an example when the sentence says so), and the
# address every home router's manual shows.
_DOC_NETWORKS = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
_ROUTER_DEFAULTS = frozenset(
    {"192.168.0.1", "192.168.1.1", "10.0.0.1", "192.168.1.254"}
    # and the addresses everyone knows: public resolvers, the stand-in 1.2.3.4
    | {"1.2.3.4", "4.3.2.1", "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9"}
)


def _is_identifying_ip(value: str) -> bool:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return not (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or value in _ROUTER_DEFAULTS
        or value.startswith("255.")  # a netmask (255.255.255.0)
    )


def _in_doc_network(value: str) -> bool:
    address = ipaddress.IPv4Address(value)
    return any(address in network for network in _DOC_NETWORKS)


_EXAMPLE_WORDS = re.compile(
    r"(?i)\b(?:docs?|documentation|examples?|sample|range|rfc|placeholder|test|fixture|mock"
    r"|fake|dummy|e\.g)\b"
)


def _shows_an_example(text: str, at: int) -> bool:
    """Does the sentence around `at` say it shows an example? A documentation address
    (RFC 5737) in "our server at 203.0.113.77 is down" still counts: users paste them
    as stand-ins for their own."""
    start = max(text.rfind(c, 0, at) for c in ".?!\n") + 1
    ends = [i for i in (text.find(c, at) for c in "?!\n") if i >= 0]
    return _EXAMPLE_WORDS.search(text, start, min(ends, default=len(text))) is not None


_PARAGRAPH_OR_SENTENCE = re.compile(r"(?<!e\.g)(?<!i\.e)[.?!](?=\s)|\n[ \t#*/]*\n")


def _wrapped_example(text: str, at: int) -> bool:
    """`_shows_an_example` for a sentence wrapped over lines, as docstrings are: "For
    example, the number of the\n    Google Switzerland office will be written as …"."""
    low = max(0, at - 200)
    begin = max((m.end() for m in _PARAGRAPH_OR_SENTENCE.finditer(text, low, at)), default=low)
    after = _PARAGRAPH_OR_SENTENCE.search(text, at, min(len(text), at + 200))
    return _EXAMPLE_WORDS.search(text, begin, after.start() if after else at + 200) is not None


_PHONE_WORD = re.compile(
    r"\b(?:phone|mobile|cell|landline|tel|telephone|call|ring|text|whatsapp|signal|handy"
    r"|portable|móvil|movil|celular|telefon\w*|número|numero|number|no)\b",
    re.IGNORECASE,
)
# Regions tried for a number in national format that a phone word introduces.
_NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "ES", "IT", "NL", "AU", "BR", "CA", "JP", "MX", "PL")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# 555-0100 to 555-0199: the numbers North America keeps for films and examples.
_FICTIONAL_PHONE = re.compile(r"55501\d\d$|^1?555\d{7}$")  # or the area code 555


# Digits that are part of something else: a time's fraction and zone (`11:32:38.034000-06`),
# an IPv4 address, a URL's path or fragment (`#issuecomment-2106349096`), an ARN's account.
_NOT_A_PHONE_BEFORE = re.compile(r"(?:\d:|\d\.|[\w/]-|[#/]|::)$")
_IPV4_SHAPE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_NOT_A_PHONE_AFTER = re.compile(r"\.\d|:\d\d|:[a-z]")


def _phones(candidate: re.Match[str]) -> Iterator[Finding]:
    """phonenumbers is thorough but slow: it only sees candidates with enough digits.

    An explicit +country code needs only a possible number (+44 7700 900461 is in a range
    Ofcom reserves for fiction, but users type such numbers); without one, a valid one.
    """
    chunk = candidate.group()
    if _ISO_DATE.search(chunk) or _FICTIONAL_PHONE.search(re.sub(r"\D", "", chunk)):
        return
    text = candidate.string
    if (
        _IPV4_SHAPE.fullmatch(chunk)
        or _NOT_A_PHONE_BEFORE.search(text, max(0, candidate.start() - 12), candidate.start())
        or _NOT_A_PHONE_AFTER.match(text, candidate.end())
    ):
        return
    digits = sum(map(str.isdigit, chunk))
    if (
        not chunk.startswith("+")
        and 9 <= digits <= 12
        and _PHONE_WORD.search(text, max(0, candidate.start() - 30), candidate.start())
    ):
        for region in _NATIONAL_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(
                chunk, region, leniency=phonenumbers.Leniency.VALID
            ):
                start = candidate.start() + match.start
                yield Finding(start, start + len(match.raw_string), "phone_number")
                return
    # With no +country code the default region is the US: 10 digits, or 11 with a 1.
    if digits < 8 or (not chunk.startswith("+") and digits not in (10, 11)):
        return
    leniency = (
        phonenumbers.Leniency.POSSIBLE if chunk.startswith("+") else phonenumbers.Leniency.VALID
    )
    for match in phonenumbers.PhoneNumberMatcher(chunk, "US", leniency=leniency):
        start = candidate.start() + match.start
        yield Finding(start, start + len(match.raw_string), "phone_number")


def _health(text: str) -> Iterator[Finding]:
    for sentence in _SENTENCE.finditer(text):
        health = _HEALTH.search(sentence.group())
        if (
            health
            and _FIRST_PERSON.search(sentence.group())
            and not NOT_A_DISCLOSURE.search(sentence.group())  # "the character in my play"
        ):
            offset = sentence.start()
            yield Finding(offset + health.start(), offset + health.end(), "health")
