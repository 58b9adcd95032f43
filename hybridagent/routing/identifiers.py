"""Identifiers with no checksum of their own, found by their label or their shape: a
badge, licence, account or booking number after the words that name it, MAC and IPv6
addresses, coordinates, and e-mail addresses written out as "name at gmail dot com".

The label says which category a number belongs to ("policy number" is health or
finance, "serial number" a device); the value must look like an identifier (enough
digits), and a sentence that shows a format ("e.g.", "looks like", "such as") is not a
disclosure. Pure code, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import re2

from hybridagent.routing.findings import Finding, filler_digits, search_windows, spans_of, windows

# Label words -> the finding type (its category is in routing/categories.py).
_LABELS: tuple[tuple[str, str], ...] = (
    (r"driver'?s?\s+licen[cs]e|licen[cs]e|\bDL\b|permit|führerschein|permis|carnet|patente",
     "licence_number"),
    (r"passport|visa|reisepass|pasaporte|passaporte|passeport|paszport|pasaport",
     "passport_number"),
    (r"badge|employee|staff|personnel|payroll|student|matriculation", "employee_id"),
    (r"national\s+id|id\s+card|identity\s+card|citizen|\bNIN\b|\bNI\b|\bSIN\b|aadhaar|\bPAN\b"
     r"|\bNIR\b|INSEE|\bBSN\b|PESEL|\bCPF\b|\bDNI\b|\bNIE\b|\bNIF\b|codice\s+fiscale"
     r"|personnummer|steuer[- ]?id|\bAHV\b|voter|\bEPIC\b|national\s+insurance|personalausweis"
     r"|ausweis|carte\s+d'identit\S+|\bcni\b|documento|\bRG\b|\bCURP\b|\bRFC\b|\bNSS\b",
     "national_id"),
    (r"social\s+security|\bSSN\b|\bTIN\b|\bEIN\b|\bITIN\b|tax|\bVAT\b|\bUTR\b", "tax_id"),
    (r"account|acct|a/c|routing|sort\s+code|\bBSB\b|\bABA\b|swift|mortgage|loan|policy"
     r"|invoice|order", "account_number"),
    (r"patient|\bMRN\b|medical\s+record|\bNHS\b|medicare|medicaid|insurance|member\s+id"
     r"|health\s+plan|prescription|\bRx\b", "health_id"),
    (r"booking|reservation|confirmation|\bPNR\b|itinerary|ticket|flight|e-?ticket",
     "booking_reference"),
    (r"serial|\bS/?N\b|\bIMEI\b|\bVIN\b|chassis|licen[cs]e\s+plate|plate|registration"
     r"|device\s+id|asset\s+tag|kennzeichen|matr[íi]cula|plaque|targa|placa|rejestracja",
     "device_id"),
    (r"loyalty|frequent\s+flyer|membership|customer|user\s*id|account\s+id|subscriber"
     r"|executive\s+club|miles|bonvoy|rewards", "customer_id"),
)  # fmt: skip
# RE2: one linear pass over the whole input for the label words.
_LABEL = re2.compile(
    "(?i)" + "|".join(f"(?P<g{i}>{words})" for i, (words, _) in enumerate(_LABELS))
)
_LABEL_TYPES = {f"g{i}": kind for i, (_, kind) in enumerate(_LABELS)}
LABELLED_TYPES = frozenset(_LABEL_TYPES.values())
# After the label: "number is", "no.", "#", ":", then the value on the same line.
_VALUE = re.compile(
    r"[^\n.?!]{0,24}?(?:\b(?:is|number|no|num|nr|id|ref|code|member"
    # … and the words for "is" and "number" users write in other languages
    r"|ist|es|est|é|è|jest|är|número|numero|numéro|n[º°o])\b\.?|nummer\b|[#:=])"
    r"\s*[\"'(]?([A-Z0-9](?:[A-Z0-9\-/]|(?<=\d)[ .](?=\d)){2,22}[A-Z0-9])(?![\w-])",
    re.IGNORECASE,
)
# Right after the label with no "number is" between ("passport GBR 551730492", "DNI
# 71830264E", "VIN 5YJ3E1EA7KF317462"): only a value with six digits or more counts.
_BARE_VALUE = re.compile(
    r"[ \t]+\(?(?:[A-Z]{2,3} )?([A-Z0-9](?:[A-Z0-9\-]|(?<=\d) (?=\d)){4,22}[A-Z0-9])(?![\w-])",
    re.IGNORECASE,
)
# Before the value, a question about numbers of that kind ("what does a badge number like
# …"); anywhere in the sentence, words that say the value is an example.
_SHOWS_A_FORMAT = re.compile(
    r"\b(?:e\.g|i\.e|example|sample|such as|like|looks?|format|fake|dummy|test|placeholder"
    r"|pattern|regex|template|mock|how|what|where|whether|which|valid)\b",
    re.IGNORECASE,
)
_IS_AN_EXAMPLE = re.compile(
    r"\b(?:e\.g|example|sample|fake|dummy|placeholder|template|mock|fictional)\b", re.IGNORECASE
)
# A UK National Insurance number: two letters, three pairs of digits, a letter.
_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_MAC = re.compile(r"(?<![\w:.-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![\w:.-])")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|[0-9A-Fa-f]{1,4})(?:[0-9A-Fa-f:]*)")
_COORDINATES = re.compile(
    r"(?<![\w.])(-?\d{1,2}\.\d{4,})°?\s*([NS])?\s*[,;/ ]\s*(-?\d{1,3}\.\d{4,})°?\s*([EW])?"
    r"(?!\w|\.\d)"
)
_SPELLED_EMAIL = re2.compile(
    r"(?i)\b[\w.+-]{2,}\s*(?:\(at\)|\[at\]|\{at\}|\s+at\s+)\s*[\w-]{2,}"
    r"(?:\s*(?:\(dot\)|\[dot\]|\{dot\}|\s+dot\s+)\s*[\w-]{2,})*"
    r"\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|\s+dot\s+)\s*(?:com|net|org|edu|gov|io|co|uk|de|fr|es|it"
    r"|nl|info|me|biz|us|ca|au|in|jp)\b"
)


# A number plate after its label: letters and digits in groups ("M-KB 4821", "FG-482-TK").
_PLATE_LABEL = re.compile(
    r"(?i)licen[cs]e\s+plate|plate|kennzeichen|matr[íi]cula|plaque|targa|placa|rejestracja|plaka"
)
_PLATE = re.compile(
    r"[ \t:]+((?=[A-Z0-9 -]*\d[A-Z0-9 -]*\d)(?=[A-Z0-9 -]*[A-Z][A-Z0-9 -]*[A-Z])"
    r"[A-Z0-9]{1,4}(?:[ -][A-Z0-9]{1,4}){1,3})(?![\w-])"
)
# A serial number is letters and digits mixed, eight characters or more, in capitals.
_SERIAL = re.compile(
    r"(?:[ \t]+|[ \t]*\r?\n[ \t#/*]*)((?=[A-Z0-9]*\d[A-Z0-9]*\d[A-Z0-9]*\d[A-Z0-9]*\d)"
    r"(?=[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z][A-Z0-9]*[A-Z])[A-Z0-9]{8,20})(?![\w-])"
)


def _labelled(text: str) -> Iterator[Finding]:
    for label in _LABEL.finditer(text):
        value = _VALUE.match(text, label.end()) or _BARE_VALUE.match(text, label.end())
        if value is None and _SERIAL.match(text, label.end()) is None:
            if not (_PLATE_LABEL.fullmatch(label.group()) and _PLATE.match(text, label.end())):
                continue  # (the common case: a label word with no value after it)
        kind = _LABEL_TYPES[next(name for name, hit in label.groupdict().items() if hit)]
        if value is not None:
            token = value.group(1).strip()
            digits = sum(c.isdigit() for c in token)
            bare = value.re is _BARE_VALUE
        if (
            value is None
            or (bare and digits < 6)
            or len({c for c in token if c.isdigit()}) < 3
            or filler_digits(token)
        ):
            # too short to stand alone, or 000-00-0000; a plate or a serial has its own shape
            if kind == "device_id":
                plate = _PLATE_LABEL.fullmatch(label.group())
                shaped = (_PLATE if plate else _SERIAL).match(text, label.end())
                if shaped is not None:
                    yield Finding(*shaped.span(1), kind)
            continue
        alnum = sum(c.isalnum() for c in token)
        if (
            digits < 4
            or alnum < 5
            or (token.isdigit() and len(token) == 4 and token[:2] in ("19", "20"))
        ):
            continue  # a year, a version, a short count
        sentence_start = max(text.rfind(c, 0, label.start()) for c in ".?!\n") + 1
        ends = [i for i in (text.find(c, value.end()) for c in ".?!\n") if i >= 0]
        if _SHOWS_A_FORMAT.search(text, sentence_start, value.start(1)) or _IS_AN_EXAMPLE.search(
            text, value.end(), min(ends, default=len(text))
        ):
            continue
        start = value.start(1)
        yield Finding(start, start + len(token), kind)


# Two hex groups joined by ':' or '-': where a MAC or an IPv6 address can be.
_HEX_PAIR = re2.compile(r"[0-9A-Fa-f]{1,4}[:-][0-9A-Fa-f]{0,4}[:-]")


def _addresses(text: str) -> Iterator[Finding]:
    near = windows(len(text), spans_of(_HEX_PAIR, text), before=40, after=40)
    if near:
        for match in search_windows(_MAC, text, near):
            value = match.group().lower()
            if value.replace("-", ":") not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
                yield Finding(match.start(), match.end(), "mac_address")
        for match in search_windows(_IPV6, text, near):
            try:
                address = ipaddress.IPv6Address(match.group())
            except ValueError:
                continue
            if address.is_loopback or address.is_unspecified or address.is_multicast:
                continue
            if match.group().count(":") < 4 and not any(c.isdigit() for c in match.group()):
                continue  # getopt's 'ab:c::', a short run of letters and colons
            yield Finding(match.start(), match.end(), "ip_address")


_PLACE_WORDS = re.compile(
    r"\b(?:lat\w*|lon\w*|lng|gps|coord\w*|location|located|position|home|house|flat|live"
    r"|address|pin|map|geo\w*|where|at)\b",
    re.IGNORECASE,
)


def _coordinates(text: str) -> Iterator[Finding]:
    """A latitude and longitude, with a hemisphere or a word about places before it
    (a pair of floats in code is not a location)."""
    for match in _COORDINATES.finditer(text):
        lat, lon = float(match.group(1)), float(match.group(3))
        marked = match.group(2) or match.group(4) or "°" in match.group()
        around = text[max(0, match.start() - 40) : match.end() + 40].replace("_", " ")
        around = re.sub(r"([a-z])([A-Z])", r"\1 \2", around)  # "MarcoHomeGps": Home, Gps
        if not (marked or _PLACE_WORDS.search(around)):
            continue
        if abs(lat) <= 90 and abs(lon) <= 180 and max(abs(lat), abs(lon)) >= 1:
            yield Finding(match.start(), match.end(), "coordinates")


# lat=51.50721, lon=-0.12768 / {"lat": 52.08873, "lng": 5.12241}: a named pair in code.
_COORDINATE_FIELDS = re.compile(
    r"\blat(?:itude)?[\"']?\s*[:=]\s*(-?\d{1,2}\.\d{4,})\b[^\n]{0,40}?"
    r"\bl(?:on|ng)(?:gitude)?[\"']?\s*[:=]\s*(-?\d{1,3}\.\d{4,})\b"
)
# A person's handle on a social platform: the platform's name beside it says whose.
_PLATFORMS = re.compile(
    r"(?i)\b(?:instagram|insta|tiktok|twitter|(?-i:X)|discord|snapchat|threads|bluesky|mastodon"
    r"|telegram|twitch|youtube|hinge|tinder|bumble|grindr|dating|reddit|linkedin|xbox|psn"
    r"|steam|gamertag|handle|profile|onlyfans|facebook|fb)\b"
)
_HANDLE = re.compile(
    r"(?<![\w@/.])(?:@[A-Za-z0-9_](?:[\w.-]{1,28}[A-Za-z0-9_])|u/[A-Za-z0-9_-]{3,20}"
    r"|[a-z][\w.]{1,30}#\d{4})(?![\w@])"
)
_FAKE_HANDLE = re.compile(
    r"(?i)^[@u/]*(?:user(?:name)?|handle|example|your\w*|name|someone|me|admin|test\w*|foo"
    r"|bar|mention|here|channel|everyone)$"
)
_LINKEDIN = re.compile(r"(?i)linkedin\.com/in/[\w-]{3,}")
# Steam's 64-bit account ids all start 7656119.
_STEAM_ID = re.compile(r"(?<!\d)7656119\d{10}(?!\d)")
# A link to a private share: whoever has it sees the album or the file.
_PRIVATE_LINK = re.compile(
    r"https?://(?:photos\.app\.goo\.gl|goo\.gl/photos|drive\.google\.com/(?:file/d|drive/folders"
    r"|open\?id=)|docs\.google\.com/\w+/d|(?:www\.)?dropbox\.com/(?:s|scl/fi|sh)|1drv\.ms"
    r"|(?:www\.)?icloud\.com/(?:sharedalbum|photos|iclouddrive)|we\.tl|wetransfer\.com/downloads)"
    r"/?[\w\-/?=&#.%]{8,}"
)


# A vehicle identification number: 17 characters, no I, O or Q, with a check digit.
_VIN = re.compile(r"(?<![A-Z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Z0-9])")
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin_checks(value: str) -> bool:
    if sum(c.isdigit() for c in value) < 5 or sum(c.isalpha() for c in value) < 3:
        return False
    total = sum(_VIN_VALUES[c] * w for c, w in zip(value, _VIN_WEIGHTS, strict=True))
    check = "X" if total % 11 == 10 else str(total % 11)
    return value[8] == check


# A passport's machine-readable zone: P<, the issuing state, the name with '<' fillers.
_MRZ = re.compile(r"(?<![A-Z<])P[A-Z<][A-Z]{3}[A-Z]+<<[A-Z<]{10,}")
# A handle given by its label: "gamertag 'NightOwlTunde'", "username is k1wi_bl4ze_93".
_HANDLE_LABEL = re.compile(
    r"(?<![\w.\"'])(?i:(?:gamertag|user ?n[a]?me|usuario|nutzername|benutzername|pseudo"
    r"|nick(?:name)?|handle|seller (?:account|acc?ount))\b)[^\n.?!'\",]{0,25}?"
    r"(?:\s(?:is|es|ist|é|est|c'est|to|:)\s*|[:=]\s*|\s(?=['\"]))"
    r"(?:['\"]([\w.\-]{4,30})['\"]|((?=[\w.\-]*[_\d])[A-Za-z][\w.\-]{3,29})(?![\w(.]))"
)


_FICTION = re.compile(r"(?i)\b(?:fiction\w*|character'?s?|novel|story|game's|example|sample)\b")


_HANDLE_GATE = re2.compile(
    r"(?i)\b(?:gamertag|user ?n[a]?me|usuario|nutzername|benutzername|pseudo|nick(?:name)?"
    r"|handle|seller)\b|@\w|u/\w|\w#\d{4}"
)
_VIN_GATE = re2.compile(r"[A-HJ-NPR-Z0-9]{17}")


def _handles(text: str) -> Iterator[Finding]:
    near = windows(len(text), spans_of(_HANDLE_GATE, text), before=32, after=64)
    if not near:
        return
    for match in search_windows(_HANDLE_LABEL, text, near):
        group = 1 if match.group(1) is not None else 2
        start = max(text.rfind(c, 0, match.start()) for c in ".?!\n") + 1
        if not (
            _FAKE_HANDLE.match(match.group(group)) or _FICTION.search(text, start, match.start())
        ):
            yield Finding(*match.span(group), "social_handle")
    for match in search_windows(_HANDLE, text, near):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _FAKE_HANDLE.match(match.group()) or not text[line_start : match.start()].strip():
            continue  # a placeholder, or a decorator opening its line
        start = max(text.rfind(c, 0, match.start()) for c in ".?!\n") + 1
        ends = [i for i in (text.find(c, match.end()) for c in "?!\n") if i >= 0]
        end = min(ends, default=len(text))
        if _PLATFORMS.search(text, start, match.start()) or _PLATFORMS.search(
            text, match.end(), end
        ):
            yield Finding(match.start(), match.end(), "social_handle")


def find_identifiers(text: str, lower: str) -> Iterator[Finding]:
    yield from _handles(text)
    if "P<" in text:
        for match in _MRZ.finditer(text):
            yield Finding(match.start(), match.end(), "passport_number")
    if "linkedin" in lower:
        for match in _LINKEDIN.finditer(text):
            yield Finding(match.start(), match.end(), "social_handle")
    if "://" in text:
        for match in _PRIVATE_LINK.finditer(text):
            yield Finding(match.start(), match.end(), "private_link")
    if any(c.isdigit() for c in text):
        yield from _labelled(text)
        for match in _NINO.finditer(text):
            yield Finding(match.start(), match.end(), "national_id")
        yield from _addresses(text)
        if "." in text:
            yield from _coordinates(text)
        if "lat" in lower:
            for match in _COORDINATE_FIELDS.finditer(text):
                yield Finding(match.start(1), match.end(2), "coordinates")
        vins = windows(len(text), spans_of(_VIN_GATE, text), before=1, after=1)
        for match in search_windows(_VIN, text, vins):
            if _vin_checks(match.group()):
                yield Finding(match.start(), match.end(), "device_id")
        if "7656119" in text:
            for match in _STEAM_ID.finditer(text):
                yield Finding(match.start(), match.end(), "customer_id")
    if " at " in lower or "(at)" in lower or "[at]" in lower or "{at}" in lower:
        for spelled in _SPELLED_EMAIL.finditer(text):
            yield Finding(spelled.start(), spelled.end(), "email")
