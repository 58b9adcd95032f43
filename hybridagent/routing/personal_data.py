"""Personal data: contact details, payment data, government ids, IP addresses, dates of
birth, home addresses, and health or salary details told about oneself.

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
_POSTCODE_ADDRESS = re.compile(
    r"\b[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ.-]+(?: [A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ.-]+)? \d{1,4}[a-zA-Z]?, "
    r"(?:[A-Z]{1,2}-)?(?!19\d\d\b|20\d\d\b)\d{4,5} [A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+"
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
    "quimio", "chemo",
)  # fmt: skip
# One RE2 pass for all the stems, where `in` would scan the input once per stem.
_HEALTH_GATE = re2.compile("|".join(re.escape(stem) for stem in _HEALTH_STEMS))
_HEALTH = re.compile(
    r"\b(?:diagnos\w*|HbA1c|glucose|diabetes|cancer|tumou?r|HIV|hepatitis|depression|anxiety"
    r"|prescri\w*|blood test|medication|chemotherapy|pregnan\w*|my GP|therapist|psychiatr\w*"
    r"|cholesterol|blood pressure|biopsy|\w*sklerose|scl[ée]rose|esclerosis|VIH|\w*krebs|c[áâ]ncer"
    r"|cancro|diab[èe]te\w*|endometriosi\w*|epileps\w*|depresi[óo]n|d[ée]pression\w*"
    r"|schwanger|embarazada|enceinte|incinta|gr[áa]vida|insulin\w*|quimio\w*|chemo\w*"
    r"|diagnose|diagnosticad\w*|diagnostiqu\w*)\b",
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
                or "Anytown" in after
                or _ORGANISATION_BEFORE.search(text, max(0, match.start() - 60), match.start())
            ):
                yield Finding(match.start(), match.end(), "home_address")
    for match in _POSTCODE_ADDRESS.finditer(text):
        if not _ORGANISATION_BEFORE.search(text, max(0, match.start() - 60), match.start()):
            yield Finding(match.start(), match.end(), "home_address")
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
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn.is_valid(digits):
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
        if ssn.is_valid(match.group().replace(" ", "-")):
            yield Finding(match.start(), match.end(), "us_ssn")
    for match in search_windows(_IPV4, text, near_digits):
        if (
            _is_identifying_ip(match.group())
            and not (_in_doc_network(match.group()) and _shows_an_example(text, match.start()))
            and not _CIDR_SUFFIX.match(text, match.end())  # 10.0.0.0/16: a network, no host
        ):
            yield Finding(match.start(), match.end(), "ip_address")
    for candidate in search_windows(_PHONE_CANDIDATE, text, near_digits):
        if _LABELLED_FIELD.search(text, max(0, candidate.start() - 40), candidate.start()) or not (
            _doctest_output(text, candidate.start()) or _wrapped_example(text, candidate.start())
        ):
            yield from _phones(candidate)


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

# An author's address in a copyright line, published with the code it heads.
_ATTRIBUTION = re.compile(
    r"(?i:copyright|\(c\)|©|__(?:author|maintainer|email|credits)__)"
    r"|^[ \t#*]*(?:Author|Maintainer|Contact)s?:",  # a module's header: "# Author: …"
    re.MULTILINE,
)


# A team's or a function's mailbox (security@, support@, noreply@): no one person's.
_ROLE_MAILBOX = re.compile(
    r"(?i)(?:security|support|info|admin|noreply|no-reply|help|contact|sales|privacy|abuse"
    r"|webmaster|postmaster|hostmaster|team|hello|press|legal|maintainers?|bugs?|feedback"
    r"|billing|jobs|careers|licensing|opensource|conduct|office|enquiries|marketing|news"
    r"|newsletter|notifications|community|partners|compliance|dpo|gdpr"
    # a project's mailing lists: idle-dev@, email-sig@, python-list@
    r"|[\w.]+-(?:sig|dev|devel|list|users|announce|discuss|request|commits|general|bugs))@"
)


def _emails(text: str) -> Iterator[Finding]:
    at_signs = windows(len(text), spans_of(_AT, text), before=64, after=256)
    for match in search_windows(_EMAIL, text, at_signs):
        if _EXAMPLE_DOMAINS.search(match.group()) or _ROLE_MAILBOX.match(match.group()):
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _ATTRIBUTION.search(text, line_start, match.start()):
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
            and not _NOT_A_DISCLOSURE.search(sentence.group())  # "the character in my play"
        ):
            offset = sentence.start()
            yield Finding(offset + health.start(), offset + health.end(), "health")


# What people tell about a colleague or a relative that is theirs to tell: health,
# faith, sexuality, family, legal and money trouble. Words rare in code and docs, so a
# named person beside one is a disclosure, not a topic.
_LIFE_TERMS = re2.compile(
    r"(?i)\b(?:pregnan\w*|chemo\w*|cancer|tumou?r|hiv\b|epilep\w*|diabet\w*|insulin|depressi(?:on|ve)"
    r"|anxiety|bipolar|schizophren\w*|autis\w*|adhd|migraine|allerg\w*|epipen|rehab|therapy"
    r"|therapist|psychiatr\w*|sertraline|surgery|sick (?:note|leave)|medical leave|maternity"
    r"|paternity|miscarriage|ivf|dementia|alzheimer\w*|burnout|ptsd|overdose|dialysis|seizures?"
    r"|biopsy|diagnos(?:is|es|ed|e|ing)\b|divorc\w*|custody|ramadan|kosher|halal|shabbat|jummah"
    r"|came out"
    r"|coming out|out at work|transgender|trans\b|gay|lesbian|bisexual|union (?:member|rep)\w*"
    r"|dui\b|arrested|convict\w*|criminal record|visa|h-1b|green card|asylum|evict\w*"
    r"|gambling|drinking again|alcoholi\w*|bankrupt\w*|credit score|missed payments"
    r"|political affiliation|religion|affair|funeral|passed away|bereave\w*|hospice"
    r"|infertil\w*|hiv clinic|abortion|abus(?:e|ed|ive)|hit me|beats? (?:her|him)|hba1c"
    r"|cholesterol|glucose|blood (?:pressure|test|sugar)|ultrasound|political\w*|party member"
    r"|protests?|interviewing (?:at|with)|resign\w*|background check"
    r"|parole|on probation|undocumented|daca\b|deport\w*|immigration status|(?:got|was|been|be)"
    r" fired|fired (?:for|over)|disciplinary|laid off|tested positive|covid(?:-19)?|mri\b"
    r"|herniat\w*|fractur\w*|concussion|broke (?:his|her|their) \w+"
    r"|sexual\w*|stalk\w*|restraining order|votes? (?:for|green|labou?r|tory|conservative"
    r"|liberal|republican|democrat\w*)|arthritis|rheumat\w*|methotrexate|asthma|lupus"
    r"|crohn\w*|colitis|coeliac|celiac|parkinson\w*|heart attack|pacemaker|antidepressant\w*"
    r"|adderall|ritalin|prozac|xanax|metformin|jehovah\w*|mormon|catholic|muslim|jewish|hindu"
    r"|buddhist|sikh|atheist|evangelical|adopting a|adoption (?:agency|papers|process)"
    r"|jews?\b|islam\w*|prayers\b|joined (?:the|a) union|unioni[sz]\w*|demot\w*|arrhythmi\w*"
    r"|spo2|heart[_ ]rate|under (?:his|her|their) real name|youtube channel|twitch channel"
    # … and in the languages users write in
    r"|\w*krebs|\w*sklerose|schwanger|suizid\w*|suicid\w*|selbstmord|demenz|c[áâ]ncer|cancro|vih"
    r"|embarazad\w*|enceinte|incinta|gr[áa]vida|scheidung|divorcio|div[óo]rcio|entzug"
    r"|gef[äa]ngnis|u-haft|prisi[óo]n|pris[ãa]o|\w*schulden|deudas|d[íi]vidas|dettes"
    r"|lesbisch|schwul|licenci[ée]\w*|gek[üu]ndigt|entlassen|trennen uns)"
)
_NOT_A_NAME = frozenset(
    "A An The This That These Those There Here It Its He She They We You I My Our Your His Her"
    " What Which Who Why When Where How If Is Are Was Were Can Could Does Do Did Should Would"
    " Will May Must Not No Yes And Or But For From With Without To In On At By Of As So Then"
    " Note Example Sample Test Tests Returns Return Raises Args Parameters See Also Hello World"
    " Python Django Flask Type Error Value True False None Please Thanks Per HR TODO FIXME Ticket"
    " Support Heads Up Hi Dear Re Fwd Mon Tue Wed Thu Fri Sat Sun Monday Tuesday Wednesday"
    " Thursday Friday Saturday Sunday January February March April June July August September"
    " October November December Doctor Dr Mr Mrs Ms Miss Team Dev User Users Customer"
    " Patient".split()
)
_CAPITAL_WORD = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_PERSON_CUES = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][a-z]+|\b[A-Z][a-z]+'s\b|\b(?:he|she|his|her|him)\b"
    r"|\[[\"'][a-z]+(?:[._][a-z]+)?[\"']\]|[\"'](?:employee|candidate|applicant|patient|owner"
    r"|courier|member|researcher|name)[\"']\s*:|\b(?:employee|candidate|applicant|patient"
    r"|staff|member|user)s?\b[.\[]"
    # a relative or a friend of the writer's, in the languages users write in
    r"|\b(?:my|mein\w*|mi|mis|ma|mon|minha|meu|mia|mio)\s+(?:mom|mum|mother|dad|father|son"
    r"|daughter|wife|husband|brother|sister|aunt|uncle|cousin|grand\w+|friend|colleague"
    r"|coworker|boss|neighbou?r|partner|boyfriend|girlfriend|mutter|vater|sohn|tochter|frau"
    r"|mann|bruder|schwester|onkel|tante|kolleg\w+|freund\w*|schwager|madre|padre|hij[oa]"
    r"|suegr[oa]|prim[oa]|vecin[oa]|t[íi][oa]|m[èe]re|p[èe]re|fils|fille|s[œo]eur|fr[èe]re"
    r"|ami|amie|coloc|m[ãa]e|pai|filh[oa]|irm[ãa]o?|vizinh[oa]|figli[oa]|sorella|fratello"
    r"|vicin[oa]|cugin[oa])\b)"
)
# "Yasmin asked …", "Megan is …": a name opening its sentence, as its subject.
_NAMED_SUBJECT = re.compile(
    r"\b([A-Z][a-z]+) (?:is|has|was|asked|told|keeps|leaves|came|isn't|hasn't|wants|needs"
    r"|takes|logs|said)\b"
)
_PARAGRAPH = re.compile(r"\n\s*\n")


# A sentence about made-up people or a form's fields, and German (every noun capitalised).
_NOT_A_DISCLOSURE = re.compile(
    r"(?i)\b(?:novel|fiction\w*|character|template|test data|placeholder|example|sample|fake"
    r"|dummy|(?:john|jane) doe|form (?:text|field|label|template)s?|(?:my|the|a) play"
    r"|screenplay|tv show|fairy tale)\b|\[[A-Z_]+\]|_{3,}"
)
_GERMAN = re.compile(r"\b(?:der|die|das|ist|und|ich|einen|eine|zwischen|nicht|mit|wie)\b")


def _names_a_person(span: str) -> bool:
    """A cue that the span is about one person: Mr/Dr X, X's, he/she, a person's key,
    or a capitalised word that is no sentence opener, weekday or code word."""
    if _NOT_A_DISCLOSURE.search(span):
        return False
    if _PERSON_CUES.search(span) or any(
        m.group(1) not in _NOT_A_NAME for m in _NAMED_SUBJECT.finditer(span)
    ):
        return True
    if _GERMAN.search(span):
        return False
    for word in _CAPITAL_WORD.finditer(span):
        name = word.group()
        if _LIFE_TERMS.fullmatch(name):
            continue
        before = span[: word.start()].rstrip(" #/*-\"'(")
        opens = before == "" or before.endswith((".", "!", "?"))  # a sentence's first word
        if name not in _NOT_A_NAME and not opens:
            return True
    return False


_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)|\n")
# A line of code, which no sentence runs on from: brackets, an assignment, a call.
_CODE_LINE = re.compile(r"^[ \t]*[^#/*\s][^\n]*(?:[()\[\]{}]|\s=\s)")
_COMMENT_WRAP = re.compile(r"[ \t]*(?:#|//|\*)[ \t]*(?=\S)")


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence holding text[start:end]; a sentence of a comment or a paragraph
    wrapped over lines runs on (up to 200 characters each way)."""
    low = max(0, start - 200)
    ends = [m for m in _SENTENCE_END.finditer(text, low, start)]
    begin = low
    for mark in reversed(ends):
        wrapped = (
            mark.group() == "\n"
            and text[mark.start() - 1 : mark.start()] not in ".!?;\n"
            and not _CODE_LINE.search(text, text.rfind("\n", 0, mark.start()) + 1, mark.start())
        )
        if not wrapped:
            begin = mark.end()
            break
    finish = min(len(text), end + 200)
    for mark in _SENTENCE_END.finditer(text, end, finish):
        wrap = mark.group() == "\n" and _COMMENT_WRAP.match(text, mark.end())
        if not wrap:
            finish = mark.start()
            break
    return begin, finish


def find_disclosures(text: str) -> Iterator[Finding]:
    """A sensitive fact about a named person (`# Megan is pregnant, due in August`,
    `absence = ("Kenji Watanabe", "burnout and anxiety")`): a life term with a person
    named in the same sentence (a comment's sentence can run over lines)."""
    for term in _LIFE_TERMS.finditer(text):
        if _in_identifier(text, term.start(), term.end()) or (
            text[term.start()].isupper() and _PROPER_NOUN_NEXT.match(text, term.end())
        ):
            continue  # EvictionPolicy, hiv_test_id, "Hindu Undivided Family": a name, no fact
        start, end = _sentence_around(text, term.start(), term.end())
        line_start = text.rfind("\n", 0, term.start()) + 1
        line_end = text.find("\n", term.end())
        line = text[line_start : len(text) if line_end < 0 else line_end]
        # The sentence, or the line alone: a comment inserted into another's sentence
        # ("… such as\n# Per his therapist's note, …") is read on its own too.
        if _names_a_person(text[start:end]) or _names_a_person(line):
            yield Finding(term.start(), term.end(), "personal_disclosure")
    for match in _HISTORY_LISTING.finditer(text):
        yield Finding(*match.span(), "personal_disclosure")
    for match in _HOUSEHOLD.finditer(text):
        if match.group(1) not in _NOT_A_NAME:
            yield Finding(*match.span(), "personal_disclosure")
    for match in _PERSONAL_PLACE.finditer(text):
        if not _NOT_A_DISCLOSURE.search(match.group()) and not any(
            word in _NOT_A_NAME for word in match.group(1).split()
        ):
            yield Finding(*match.span(), "personal_disclosure")


# "Nadia Rahman's nursery", "Gabriel Costa's search history": a named person's home,
# device or private record.
_PERSONAL_PLACE = re.compile(
    r"\b([A-Z][a-z]+ [A-Z][a-z'-]+)'s (?:home|house|flat|apartment|nursery|bedroom|kitchen"
    r"|garage|car|phone|laptop|front door|doorbell|thermostat|baby monitor|camera|router"
    r"|search history|browsing history|private messages|dms|inbox|texts|location history"
    r"|daughter|son|kids|children|wife|husband|girlfriend|boyfriend|mother|father|mum|mom"
    r"|dad)\b"
)
# A history's entries, listed: "search history: 'symptoms of …'", "browser history of my
# teenager: 'how many …'".
_HISTORY_LISTING = re.compile(
    r"(?i)\b(?:search|browser|browsing|watch|location) history\b[^\n:]{0,30}:\s*[\"'‘“]"
)
# "Patel residence", "the Okafor household": a family's home, named.
_HOUSEHOLD = re.compile(r"\b([A-Z][a-z]+) (?:residence|household)\b")
_PROPER_NOUN_NEXT = re.compile(r" (?!Is\b|Has\b|Was\b)[A-Z][a-z]")
_CAMEL_HUMP = re.compile(r"[a-z]{2}[A-Z]")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _in_identifier(text: str, start: int, end: int) -> bool:
    """Is text[start:end] part of a CamelCase name (`EvictionPolicy`)? The term alone
    (`HbA1c`, `DUI`) is a word, and so is a snake_case key (`hiv_status = …  # Ana Lima`)."""
    first, last = start, end
    while first > 0 and text[first - 1] in _WORD_CHARS:
        first -= 1
    while last < len(text) and text[last] in _WORD_CHARS:
        last += 1
    return _CAMEL_HUMP.search(text[first:last]) is not None


# A person's full name as a literal or a comment in code: where a record starts.
_FULL_NAME_GATE = re2.compile(r"[A-Z][a-z]+[ -][A-Z][a-z]+")
_FULL_NAME = re.compile(r"(?<![\w.])[A-Z][a-z]+(?:[ -](?:[A-Z][a-z'-]+|[A-Z]\.))*[ -][A-Z][a-z'-]+")
# An identifier-like literal: five digits or more (an id, a phone, an amount), or letters
# and three digits mixed (a serial, a passport); not a date or a version.
_RECORD_VALUE = re.compile(
    r"(?<![\w.#])(?:[A-Z]{1,4}-)?(?=[A-Z0-9 -]*\d[A-Z0-9 -]*\d)(?:\d[\d ,.]{3,20}\d"
    r"|(?=[A-Z0-9]*\d[A-Z])[A-Z0-9]{6,20})"
    r"(?![\w-])|\b(?:lat|lon|lng|salary|income|wages?\w*|base\w*|btc|dob|phone|ssn|iban)\b[\"']?\s*[:=]"
)
# A name that is a company's or a place's: "Google Switzerland office", "Acme Corp".
_ORGANISATION_AFTER = re.compile(
    r"\s+(?:office|offices|inc|ltd|llc|gmbh|corp|team|group|store|shop|bank|hotel|airport"
    r"|university|foundation|project|api|sdk|library|service|server|headquarters|hq)\b",
    re.IGNORECASE,
)
# A price (999.99), not an identifier: at most four digits before the cents.
_PRICE = re.compile(r"\d{1,4}\.\d{2}$")
_RECORD_DATE = re.compile(r"^\d{4}(?:[ -]\d{2,4})*$|^\d{1,3}(?:[,.]\d{3})*$(?<=000)")


# A login or handle written beside its owner's name: `user=lpetersen (Lotte Petersen)`,
# `["jpereira", …]  # Joana Pereira`, `"Owen Gallagher": "@owen_g_1987"`.
# The handle stands where a value does: quoted, after `@`, or as a user field's value.
_HANDLE = re.compile(
    r"(?:[\"']|\b(?:user|login|username|uid|handle|account)=|(?<![\w.@/-])(?=@))"
    r"(@?[a-z][a-z0-9._-]{3,30})(?![\w@-])"
)


def _handle_of(line: str, names: list[re.Match[str]]) -> tuple[int, int] | None:
    """Where in `line` a handle holds a part of one of the full names, if one does."""
    parts = {
        part.lower()
        for name in names
        if "-" not in name.group()  # Content-Encoding is a header, no one's name
        for part in name.group().split(" ")
        if len(part) >= 3
    }
    for token in _HANDLE.finditer(line):
        bare = token.group(1).lstrip("@")
        if bare in parts or any(n.start() <= token.start(1) < n.end() for n in names):
            continue
        # A part of four letters anywhere (`jpereira`); of three, after at most an initial
        # (`tlin_builds`), since three letters turn up inside many words.
        if any(part in bare if len(part) >= 4 else part in bare[:4] for part in parts):
            return token.span(1)
    return None


# `owner=Akua Boateng`, `assignee: Tom Reyes` in a log or config line: whose it is.
_OWNER_FIELD = re.compile(
    r"\b(?:owner|assignee|assigned_to|driver|tenant|resident|occupant)\s*[=:]\s*[\"']?"
    r"([A-Z][a-z]+(?: [A-Z][a-z'-]+)+|[A-Z][a-z]+ family)"
)


def find_person_records(text: str) -> Iterator[Finding]:
    """A line of code or a comment that ties a named person to an identifier, a number or
    a location: `passport = ("Aisha Rahman", "533918274")`, `SALARY_EUR = 78500  # Katrin
    Vogel`, `{"courier": "Tomasz Zielinski", "lat": 51.50721}`."""
    for owner in _OWNER_FIELD.finditer(text):
        if not any(w in _NOT_A_NAME for w in owner.group(1).split()):
            yield Finding(*owner.span(1), "person_name")
    seen = -1
    for gate in _FULL_NAME_GATE.finditer(text):
        if gate.start() < seen:
            continue
        start = text.rfind("\n", 0, gate.start()) + 1
        end = text.find("\n", gate.end())
        end = len(text) if end < 0 else end
        seen = end
        line = text[start:end]
        if not any(c in line for c in "\"'#=") or _ATTRIBUTION.search(line):
            continue
        names = [
            m
            for m in _FULL_NAME.finditer(line)
            if " " in m.group()  # Split-Path, Content-Type: words of code
            and not any(w in _NOT_A_NAME for w in re.split(r"[ -]", m.group()))
            and not _ORGANISATION_AFTER.match(line, m.end())
        ]
        if not names or _NOT_A_DISCLOSURE.search(line):
            continue
        for value in _RECORD_VALUE.finditer(line):
            digits = sum(c.isdigit() for c in value.group())
            if value.group()[:1].isdigit() and (
                digits < 5 or _RECORD_DATE.match(value.group()) or _PRICE.match(value.group())
            ):
                continue
            if any(n.start() <= value.start() < n.end() for n in names):
                continue
            name = names[0]
            yield Finding(start + name.start(), start + name.end(), "person_name")
            break
        else:
            handle = _handle_of(line, names)
            if handle is not None:
                yield Finding(start + handle[0], start + handle[1], "customer_id")
