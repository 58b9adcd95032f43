"""Secrets given a name: `DB_PASSWORD=…`, `export API_TOKEN=…`, YAML `password: …`, JSON
`"api_key": "…"`, TOML `token = "…"`, keyword arguments and `--password …` flags.

The value carries no format of its own, so the key decides: its last word must name a
secret (password, token, secret, api key, …, not `max_tokens` or `password_length`).
What keeps code and docs clean is the value: a placeholder (`<…>`, `${…}`, `$VAR`,
`sk-...`, `xxxx`, `changeme`) or a code reference (`os.environ["X"]`, `self.token`,
`None`, `str`) is not a secret; a quoted literal, or a bare value with the mix of
letters, digits and symbols a password has, is. Pure code, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import re2

from hybridagent.routing.findings import (
    Finding,
    filler_digits,
    search_windows,
    spans_of,
    windows,
)
from hybridagent.routing.secrets import char_classes, entropy

# Words that name a secret when they end a key: DB_PASSWORD, apiKey, client-secret.
_SECRET_NOUNS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "passcode", "pin", "secret",
        "token", "apikey", "auth", "credential", "credentials", "cookie", "sessionid",
        "psswd", "psswrd", "pswd", "passwrd", "pasword", "secretkey", "accesskey", "seed",
        "mnemonic", "psk", "phpsessid", "jsessionid", "sessid", "requirepass", "masterauth",
    }
)  # fmt: skip
# `key` names a secret only after one of these: api_key, secret-key, PRIVATE_KEY.
_KEY_QUALIFIERS = frozenset(
    {"api", "secret", "private", "access", "auth", "encryption", "signing", "master",
     "license", "licence", "client", "app", "service", "account", "webhook", "sas", "shared"}
)  # fmt: skip
_KEY = r"[A-Za-z_][A-Za-z0-9_.\-]{1,60}"
# KEY=value, export KEY=value, set KEY=value, $env:KEY = "value"
_ENV = re.compile(
    rf"(?m)(?:^|(?<=[\s;(,{{?&]))(?:export\s+|set\s+|\$env:)?({_KEY})[ \t]*=[ \t]*"
    r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'#;,)]+)"
)
# key: value (YAML, HTTP-ish headers), "key": "value" (JSON)
_COLON = re.compile(
    rf"(?m)[\"']?({_KEY})[\"']?[ \t]*:[ \t]*(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',}}\]]+)"
)
# --password value, --password=value, --api-key "value"
_FLAG = re.compile(
    r"(?<![\w-])--([A-Za-z][\w-]{1,40})(?:[ \t]*=[ \t]*|[ \t]+)"
    r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'|;&]+)"
)
# os.environ["DB_PASSWORD"] = "…", setdefault("DB_PASSWORD", "…"), ("api_key", "…")
_PAIR = re.compile(rf"[\"']({_KEY})[\"'][ \t]*(?:\][ \t]*=|,)[ \t]*(\"[^\"\s]*\"|'[^'\s]*')")
# The secret words a key must hold; RE2 finds them in one pass, and the patterns run
# only near them (a key starts at most 60 characters before its secret word).
_GATE = re2.compile(
    r"(?i)pass|pwd|psw|pswd|secret|token|key|auth|credential|cookie|sess|pin|seed|mnemonic|psk"
)

_PLACEHOLDER = re.compile(
    r"\.\.\.|…|<[^>]*>|\$\{|\{\{|^\$[A-Za-z_]|%\(|%s|x{4,}|X{4,}|\*{3,}|^[#?]+$|\byour[_\- ]"
    r"|[_-]here\b|placeholder|dummy|redacted|dead-?beef|cafe-?ba(?:be|d)|feedface|^(?:example|sample|dummy|placeholder|changeme|change-me|redacted|secret|password"
    r"|passwd|token|none|null|nil|true|false|yes|no|undefined|empty|required|optional|str|string"
    r"|int|bool|bytes|any|default|env|todo|tbd|value|test|foo|bar|baz|hidden|masked)$"
    # a reference to a variable (LiteLLM's `os.environ/NAME`), or a vendor prefix with a
    # stub where the key would go (`sk-123`, `ghp_xxx`)
    r"|^os\.environ/|^(?:sk|pk|rk|ghp|gho|glpat|xox[abp])[-_](?:\d{1,4}|[a-z]{1,4})$",
    re.IGNORECASE,
)


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def names_secret(key: str) -> bool:
    """Does this key, variable or flag name a secret? (`DB_PASSWORD` yes, `max_tokens` no.)"""
    words = _words(key)
    if not words:
        return False
    last = words[-1]
    if last in _SECRET_NOUNS:
        return True
    if last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS:
        return True
    if last == "phrase" and len(words) > 1 and words[-2] in ("seed", "pass", "recovery", "secret"):
        return True
    # aws_secret_access_key_id is an id; aws_access_key_id names the AKIA value.
    return last == "id" and words[-3:-1] == ["access", "key"]


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:[(\[].*)?")
_METAVAR = re.compile(r"[A-Z][A-Z_]*")


def is_secret_value(value: str, mode: str) -> bool:
    """Is `value`, assigned to a secret-named key, a literal secret?

    `mode` says how sure the syntax makes us that the value is a literal: "literal"
    (quoted, a shell or .env line, a flag), "line" (a YAML-style `key: value` line) or
    "code" (inline `key = value` / `key: value`, where a bare word may be a variable).
    """
    if len(value) < 4 or len(set(value)) < 3 or _PLACEHOLDER.search(value):
        return False
    if value[:1] in "[({":
        return False  # fds_to_pass = [listener.fileno(), …]: code
    if re.fullmatch(r"[A-Za-z_]+", value) and names_secret(value):
        return False  # aws_secret_access_key=aws_secret_access_key, token="ACCESS_TOKEN"
    if mode == "literal":
        return not _METAVAR.fullmatch(value)  # `--password PASSWORD` in a usage line
    reference = _REFERENCE.fullmatch(value) is not None
    if reference and not _IDENTIFIER.fullmatch(value):
        return False  # os.environ["X"], self.token, get_secret(), Optional[str]
    if mode == "line":
        return not reference or any(c.isdigit() for c in value)
    # Inline in code: a bare word is a variable unless it is shaped like a password, or
    # like a random token (`sessionid=kgn60ox7jb6p3728e7z4h4`: no name has that many digits).
    if reference and len(value) >= 16 and sum(c.isdigit() for c in value) >= 4:
        return entropy(value) >= 3.5
    return char_classes(value) >= (3 if reference else 2)


def _value(match: re.Match[str]) -> tuple[int, int, str, bool]:
    start, end = match.span(2)
    raw = match.group(2)
    if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2:
        return start + 1, end - 1, raw[1:-1], True
    stripped = raw.rstrip(".!?:)`").lstrip("=")
    return start, start + len(stripped), stripped, False


def _whole_line(text: str, match: re.Match[str], value_end: int) -> bool:
    """Is the match a line of its own (`  password: x  # comment`)?"""
    line_start = text.rfind("\n", 0, match.start()) + 1
    before = text[line_start : match.start()].strip()
    line_end = text.find("\n", value_end)
    after = text[value_end : len(text) if line_end < 0 else line_end].strip()
    starts = before in ("", "-", "export", "set", "#", "//")
    return starts and (after == "" or after.startswith("#"))


# A pagination cursor (`NextToken`, `next_page_token`) is named a token but opens nothing.
_PAGE_TOKEN_KEY = re.compile(
    r"(?i)(?:next|page|pagination|continuation|sync|resume)_?(?:page_?)?token$"
)


def find_secret_assignments(text: str) -> Iterator[Finding]:
    near = windows(len(text), spans_of(_GATE, text), before=64, after=200)
    for pattern in (_ENV, _COLON, _FLAG, _PAIR):
        for match in search_windows(pattern, text, near):
            key = match.group(1)
            if not (_GATE.search(key) and names_secret(key)) or _PAGE_TOKEN_KEY.search(key):
                continue
            if pattern is _FLAG and key.startswith("no-"):
                continue  # --no-allow-scripts-pin canvas: a switch, then an argument
            start, end, value, quoted = _value(match)
            in_url = text[match.start(1) - 1 : match.start(1)] in ("?", "&")
            if in_url and "&" in value:  # ?token=abc&next=/home
                value = value[: value.index("&")]
                end = start + len(value)
            if pattern is _PAIR and (
                " " in value or re.fullmatch(r"[A-Z][a-z]+|[A-Z0-9_]+", value)
            ):
                continue  # ("password", "Password"): a label for the field
            if quoted or pattern is _FLAG:
                mode = "literal"
            elif pattern is _ENV and (in_url or (key.isupper() and "= " not in match.group(0))):
                mode = "literal"  # DB_PASSWORD=value (shell, .env) or ?token=value (a URL)
            elif _whole_line(text, match, match.end(2)):
                mode = "line"
            else:
                mode = "code"
            if is_secret_value(value, mode):
                yield Finding(start, end, "secret_assignment")


# Keys of a record about a person, with the finding type their value is: a customer
# record, a patient row or a user profile pasted in code or config.
_PERSONAL_KEYS: dict[str, str] = {
    "full_name": "person_name", "first_name": "person_name", "last_name": "person_name",
    "surname": "person_name", "patient": "health", "patient_name": "health",
    "diagnosis": "health", "medication": "health", "icd10": "health", "condition": "health",
    "date_of_birth": "date_of_birth", "dob": "date_of_birth", "birthday": "date_of_birth",
    "birth_date": "date_of_birth", "home_address": "home_address", "ship_to": "home_address",
    "street": "home_address", "address": "home_address", "username": "customer_id",
    "handle": "customer_id", "gender": "personal_profile", "religion": "personal_profile",
    "ethnicity": "personal_profile", "political": "personal_profile", "salary": "salary",
    "income": "salary", "ssn": "us_ssn", "passport": "passport_number", "iban": "iban",
    "account_number": "account_number", "voter_id": "national_id", "national_id": "national_id",
}  # fmt: skip
_PERSONAL_GATE = re2.compile("(?i)" + "|".join(sorted(_PERSONAL_KEYS, key=len, reverse=True)))
_RECORD_FIELD = re.compile(
    r"[\"']?\b([A-Za-z_]{2,30})\b[\"']?\s*(?:=|:)\s*(?:date\()?(\"[^\"\n]{2,80}\"|'[^'\n]{2,80}'"
    r"|\d{4}, ?\d{1,2}, ?\d{1,2})"
)
_FAKE_PERSON = re.compile(
    r"\b(?:john|jane|joe) ?(?:doe|smith|bloggs)\b|example|sample|test|dummy|foo|bar|lorem"
    r"|placeholder|%s|\{|<|\$|x{3,}|^(?:admin|root|user|guest|demo|anonymous|nobody|alice|bob"
    r"|carol|dave|eve|mallory|trent)$",
    re.IGNORECASE,
)


def find_personal_fields(text: str) -> Iterator[Finding]:
    """Fields of a record about a person: `full_name="Helena Brandt"`, `"diagnosis":
    "Type 1 diabetes"`, `date_of_birth = date(1992, 8, 17)`. The value must be a
    literal that is no placeholder; a name needs two capitalised words."""
    near = windows(len(text), spans_of(_PERSONAL_GATE, text), before=34, after=120)
    for match in search_windows(_RECORD_FIELD, text, near):
        kind = _PERSONAL_KEYS.get(match.group(1).lower())
        if kind is None:
            continue
        raw = match.group(2)
        value = raw[1:-1] if raw[:1] in "\"'" else raw
        if _FAKE_PERSON.search(value) or not re.search(r"[^\W_]{2}", value):
            continue
        if kind == "person_name" and not re.fullmatch(r"[A-Z][\w'-]+(?: [A-Z][\w'-]+)+", value):
            continue
        if kind == "home_address" and not (re.search(r"\d", value) and " " in value):
            continue
        if kind == "customer_id" and len(value) < 4:
            continue  # "UserName": "dms", a service's account in an example
        start = match.start(2) + (1 if raw[:1] in "\"'" else 0)
        yield Finding(start, start + len(value), kind)


# Keys whose value identifies a person, a device or opens a network: `employee_id=EMP-00418273`,
# `laptop_serial = 'PF3KX9Q2 …'`, `"admin_login": "m.delacroix.adm"`, `home_wifi_psk=…`.
_ID_KEY_TYPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?i)(?:^|_)(?:{key})$"), kind)
    for key, kind in (
        (r"serial(?:_?(?:no|num|number))?|imei", "device_id"),
        (r"(?:employee|emp|staff|badge)_?(?:id|no|number)", "employee_id"),
        (r"(?:tax|steuer|vat)_?(?:id|no|number)|tin|nif|idnr", "tax_id"),
        (r"dni|nie|national_?id|nino", "national_id"),
        (r"passport_?(?:no|num|number)?", "passport_number"),
        (r"psk|passphrase|wifi_?(?:key|pass\w*)|wpa_?(?:key|psk)", "password"),
        (r"login|username|user_?name|handle", "customer_id"),
    )
)
_ID_GATE = re2.compile(
    r"(?i)serial|imei|employee|emp_|staff|badge|tax|steuer|vat|tin\b|nif|idnr|dni|nie|"
    r"national|nino|passport|psk|passphrase|wifi|wpa|login|user_?name|handle"
)
_ID_FIELD = re.compile(
    r"[\"']?\b([A-Za-z][A-Za-z0-9_]{1,40})\b[\"']?\s*[:=]\s*(\"[^\"\n]{3,80}\"|'[^'\n]{3,80}'"
    r"|\d{2,4}(?: \d{2,4}){2,5}(?![\w.])|[A-Za-z0-9][A-Za-z0-9.\-_@]{4,40})"
)
# A serial's shape, quoted or not (`laptop_serial: PF3KX9Q2`): no variable is named so.
_CAPITALS_AND_DIGITS = re.compile(r"(?=(?:[A-Z0-9]*[A-Z]){2})[A-Z0-9]{6,20}")
# Login names need a shape no variable has (a dot inside a quoted value, or digits).
_LOGIN_SHAPE = re.compile(r"[a-z][\w-]*[.\-_][\w.\-]+|[a-z]+\d{2,}", re.IGNORECASE)


def find_labelled_ids(text: str) -> Iterator[Finding]:
    """Values of keys that name an ID, a serial, a login or a Wi-Fi key, in code and config.
    A value must look like one: digits for an ID or serial, a login's shape, a key's length;
    placeholders and references (`self.serial`, `EXAMPLE`) are not."""
    near = windows(len(text), spans_of(_ID_GATE, text), before=40, after=120)
    for match in search_windows(_ID_FIELD, text, near):
        key = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", match.group(1))  # AdminLogin: admin_login
        kind = next((k for pattern, k in _ID_KEY_TYPES if pattern.search(key)), None)
        if kind is None:
            continue
        raw = match.group(2)
        quoted = raw[:1] in "\"'"
        value = (raw[1:-1] if quoted else raw).split(" (")[0].strip().lstrip("@")
        if len(value) < 5 or _FAKE_PERSON.search(value) or _PLACEHOLDER.search(value):
            continue
        digits = sum(c.isdigit() for c in value)
        if filler_digits(value):
            continue  # EMPLOYEE_ID=E-000000: a sentinel
        if kind == "customer_id":
            if not quoted or not _LOGIN_SHAPE.fullmatch(value):
                continue
        elif kind == "password":
            if len(value) < 8 or not (digits or "-" in value) or _REFERENCE.fullmatch(value):
                continue
        elif digits < 2 or (
            not quoted
            and _REFERENCE.fullmatch(value)
            and digits < 4
            and not _CAPITALS_AND_DIGITS.fullmatch(value)
        ):
            continue
        start = match.start(2) + (1 if quoted else 0)
        yield Finding(start, start + len(value), kind)


# Credentials given on a command line: `curl -u deploy:Hunter2-Prod-2024 …`,
# `wpa_passphrase HomeNet 'sleepy-otter-9'`.
_CLI_CREDENTIAL = re.compile(
    r"\b(?:curl|wget|http|httpie)\b[^\n]*?\s(?:-u|--user)[ =]['\"]?[^\s:'\"]+:([^\s'\"@]{4,})"
    r"|\bwpa_passphrase\s+\S+\s+['\"]?([^\s'\"]{8,63})"
)


def find_cli_credentials(text: str) -> Iterator[Finding]:
    if "curl" not in text and "wget" not in text and "http" not in text and "wpa_" not in text:
        return
    for match in _CLI_CREDENTIAL.finditer(text):
        group = 1 if match.group(1) is not None else 2
        value = match.group(group)
        if not _PLACEHOLDER.search(value) and not value.startswith("$"):
            yield Finding(match.start(group), match.end(group), "password")
