"""Secrets: detect-secrets' own regex detectors, plus the formats it lacks (current
OpenAI and Anthropic keys, Google keys, AWS secret keys, passwords stated in prose,
connection strings) and high-entropy tokens. Pure code, no I/O.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache

import re2

# Imported at module load, outside any workflow sandbox: detect-secrets pulls in requests.
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import RegexBasedDetector

from hybridagent.routing.findings import Finding, Window, search_windows, spans_of, windows

# Not a value at all: `sk-...`, `<your key>`, `xxxx`, `****`. A value in a credential's
# format counts even when it is a published example (AKIAIOSFODNN7EXAMPLE): the router
# cannot know it is fake, so it fails closed.
_PLACEHOLDER = re.compile(
    r"\.\.\.|…|x{4,}|X{4,}|\*{3,}|<[^>]*>|\byour[_-]|[_-]here\b", re.IGNORECASE
)
# Words that, as a password stated in prose, mean there is none: "the password is redacted".
_NO_PASSWORD = re.compile(
    r"example|dummy|placeholder|changeme|redacted|hidden|masked|required|optional|incorrect"
    r"|wrong|correct|invalid|expired|too|the|not|set|empty|blank|same|different|stored"
    r"|none|null|nil|true|false|undefined|missing|given|provided|used",
    re.IGNORECASE,
)
# A code reference, not a password: os.path.dirname(…), self.password, get_secret()
_CODE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z_][\w.]*[(\[]")
# Secrets that sit in a long token: searched only near one.
_EXTRA_TOKEN_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anthropic_api_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai_api_key", re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("aws_secret_key", re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
)
# Formats with a fixed part: a vendor's prefix, which RE2 finds in one pass (the patterns
# then run only after one), or a label before a long token (run near long tokens).
_VENDOR_PREFIX = re2.compile(
    r"shp(?:at|ss|ca|pa)_|hv[sbr]\.|do[opr]_v1_|key-|github_pat_|gl(?:pat|ptt|dt|rt|cbt)-|hf_"
    r"|gsk_|r8_|xai-|pplx-|dapi|ATATT|lin_api_|ntn_|secret_|PMAK-|gl(?:sa|c)_|NRAK-|sntry"
    r"|dp\.|pul-|sbp_|npm_|[sr]k_(?:live|test)_|whsec_|AGE-SECRET|GOCSPX-|ya29\.|HRKU-|:AA"
    r"|xox|SG\.|bc1|sentry\.io"
)
_GATED_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Vendors' key formats that detect-secrets does not know: the prefix is the format.
    (
        "vendor_api_key",
        re.compile(
            r"(?<![\w-])(?:shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|hv[sbr]\.[A-Za-z0-9_\-]{24,}"
            r"|do[opr]_v1_[a-f0-9]{64}|key-[0-9a-f]{32}|github_pat_[A-Za-z0-9_]{40,}"
            r"|gl(?:pat|ptt|dt|rt|cbt)-[A-Za-z0-9_\-]{20,}|hf_[A-Za-z0-9]{30,}|gsk_[A-Za-z0-9]{40,}"
            r"|r8_[A-Za-z0-9]{30,}|xai-[A-Za-z0-9]{40,}|pplx-[A-Za-z0-9]{40,}|dapi[a-f0-9]{32}"
            r"|ATATT[A-Za-z0-9_\-=]{40,}|lin_api_[A-Za-z0-9]{32,}|ntn_[A-Za-z0-9]{40,}"
            r"|secret_[A-Za-z0-9]{43}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}|gl(?:sa|c)_[A-Za-z0-9+/_=]{32,}"
            r"|NRAK-[A-Z0-9]{27}|sntry[su]_[A-Za-z0-9+/=_]{40,}|dp\.(?:pt|st|sa|ct)\.[A-Za-z0-9]{40,}"
            r"|pul-[a-f0-9]{40}|sbp_[a-f0-9]{40}|npm_[A-Za-z0-9]{36}|(?:sk|rk)_(?:live|test)_"
            r"[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9]{32,}|AGE-SECRET-KEY-1[0-9A-Z]{50,}"
            r"|GOCSPX-[A-Za-z0-9_\-]{20,}|ya29\.[A-Za-z0-9_\-]{30,}|HRKU-[A-Za-z0-9_\-]{30,}"
            r"|\d{8,10}:AA[A-Za-z0-9_\-]{33}|xox[abposr]-[A-Za-z0-9\-]{10,}"
            r"|SG\.[\w-]{16,}\.[\w-]{16,})"
            r"(?![\w-])"
        ),
    ),
    # A bech32 Bitcoin address: a wallet, which names its owner's money.
    ("crypto_address", re.compile(r"(?<![\w-])bc1[ac-hj-np-z02-9]{25,59}(?![\w-])")),
    # A session cookie's value after its name: `PHPSESSID hjmav6eyqppt1f6x1f9om5kjm4`.
    (
        "session_cookie",
        re.compile(
            r"(?i:\b(?:phpsessid|jsessionid|asp\.net_sessionid|session[ _]?id|session cookie)\b)"
            r"[ \t:=]+[\"']?([A-Za-z0-9%_\-]{16,})"
        ),
    ),
    # A Sentry DSN: the key before the '@' is the credential.
    ("vendor_api_key", re.compile(r"https://([0-9a-f]{32})@[\w.\-]*sentry\.io")),
    # A long value labelled as a key or secret, on the label's line or the next
    # (`API key for the staging box:` then `    # 505a0776…`).
    (
        "labelled_secret",
        re.compile(
            r"(?i:\b(?<!public )(?:api[ _-]?key|key|secret|token|seed|passphrase|password"
            r"|credential)s?\b)[^\n:=]{0,60}?(?::|\bis\b)[ \t]*(?:\r?\n[ \t]*(?:#|//|--|\*|>|;)?"
            r"[ \t]*)?([A-Za-z0-9+/_\-.]{20,}={0,2})(?![\w+/=.-])"
        ),
    ),
)


_PIN = re.compile(r"(?i)\bpin\b|pass ?code|\bcode\b|pinn?umm?er")
_CONNECTION_STRING = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@", re.IGNORECASE)
# With the spellings users type: psswrd, pasword, p@ssw0rd, pw; and the other names of a
# secret stated in prose (a signing secret, a pre-shared key, recovery codes).
_PASSWORD = re.compile(
    r"\b(?:pass(?:word|phrase|wd|code|wrd)|pas+w[o0]r?d|p[@4]s+w[o0]rd|ps+wr?d|pswd|pwd|pw|pword"
    r"|pin(?: code)?|pin number|secret|pre-shared key|psk|(?:recovery|backup) (?:codes?|pin|key)"
    r"|seed phrase|mnemonic|(?:api|access|private|secret|signing) key|token"
    # … and in the languages users write in
    r"|passwort|kennwort|contrase[ñn]a|clave|senha|mot de passe|mdp|wachtwoord|has[łl]o"
    r"|parola|[şs]ifre|pinn?umm?er|requirepass|masterauth)s?\b[^.\n]{0,40}?"
    r"(?:\bis\b|\bare\b|=|:|\bfrom\b|\bto\b|\bwas\b|\bist\b|\bes\b|\bé\b|\best\b"
    r"|\bjest\b|\bè\b|\bis\b|(?<=[a-z]) (?=\S*\d))[ \t]*(?:\n[ \t]*)?"
    # A quoted value, or a bare one with a digit, a capital or a symbol ("was reset to
    # Ember-8824" finds the value after "to", not "reset"); not code (`[ranks[part] …`),
    # nor a label that ends its line ("### Adding New Secrets to Baseline:").
    r"(?:\"([^\"\n]{4,60})\"|[\"']?(?![\[({])(?![^\s\"',;]*:[ \t]*(?:\n|$))"
    r"(\d{3}[ -]\d{3}(?![\d-])|(?=(?-i:[^\s\"',;]*[\dA-Z!@#$%^&*_\-]))[^\s\"',;]{4,}))",
    re.IGNORECASE,
)
# "login: admin / S3cret!", auth=("user", "pass"), bind_s("cn=…", "pass")
_LOGIN = re.compile(
    r"(?i:\blog ?in\b|\bcreds?\b|\bcredentials\b|\bsuperuser\b|\badmin\b|\bfallback\b|\bwi-?fi\b)"
    r"[^\n.]{0,30}?\b[\w.@-]+ ?[/:] ?(\S{6,})"
)
# user / Pass-Word-42 in a note: a name, a slash, and a value shaped like a password.
_USER_SLASH_PASSWORD = re.compile(
    r"(?<![/\w.])[a-z][\w.@-]{2,30} / ((?=\S*\d)(?=\S*[A-Z])(?=\S*[a-z])[^\s/]{8,40})(?![/\w])"
)
# Authorization: Basic dXNlcjpwYXNz — base64 of user:password
_BASIC_AUTH = re.compile(r"\bBasic ([A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])")
_CREDENTIAL_CALL = re.compile(
    r"(?i:auth|login|bind\w*|connect|credentials?)\s*[=(]\s*\(?\s*[\"'][^\"'\n]+[\"']\s*,\s*"
    r"[\"']([^\"'\n]{6,})[\"']"
)
# mysql -u admin -pS3cret (the value sticks to -p), and a .pgpass line host:port:db:user:pw
_MYSQL_FLAG = re.compile(
    r"\b(?:mysql\w*|mariadb\w*)\b[^\n]{0,80}?[\s\"'](?:-p|--password=)([^\s\"',]{4,})"
)
_PGPASS = re.compile(r"(?<![\w.])[\w.\-]+:(?:\d{2,5}|\*):[\w.\-*]+:[\w.\-]+:([^\s:\"']{4,})")
# Answers to security questions: "mother's maiden name Kowalczyk", "first pet = 'Biscuit'".
_SECURITY_ANSWER = re.compile(
    r"(?i:\bmother'?s maiden name|\bfirst (?:pet|school|car|teacher)|\bchildhood (?:nickname"
    r"|friend|street)|\bsecurity (?:answer|question))(?:'s name)?s?\b[^\n.,;]{0,12}?"
    r"(?:[:=]|\bis\b|\bwas\b)?[ \t]*[\"'‘“]?((?!(?:The|What|Which|Is|Was|And|Or|For)\b)"
    r"[A-Z][\w'.-]+(?: [A-Z][\w'.-]+)?)"
)
# RE2: a linear-time pass over the whole input, where Python's re restarts at every
# character of every shorter word.
_LONG_TOKEN = re2.compile(r"[A-Za-z0-9_\-+/=]{16,}")
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
_PEM_FOOTER = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{16}")
# detect-secrets detectors whose secret is not a long token: run on the whole text.
_WHOLE_TEXT_TYPES = frozenset({"basic_auth_credentials", "private_key"})

Detector = tuple[str, re.Pattern[str], int]


def _load_detect_secrets_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The regex detectors detect-secrets ships (IP addresses count as personal data).

    Loaded once at import: detect-secrets imports its plugin modules (and requests) when
    asked for them, which must not happen inside a workflow sandbox.
    """
    patterns: list[tuple[str, re.Pattern[str]]] = []
    plugins: dict[str, type] = get_mapping_from_secret_type_to_class()
    for secret_type, plugin in plugins.items():
        if not issubclass(plugin, RegexBasedDetector) or "IP" in secret_type:
            continue
        name = re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")
        # `denylist` is a class attribute on every regex detector (a property on the base).
        denylist: Iterable[re.Pattern[str]] = getattr(plugin, "denylist")  # noqa: B009
        patterns.extend((name, pattern) for pattern in denylist)
    return tuple(patterns)


_DETECT_SECRETS_PATTERNS = _load_detect_secrets_patterns()


@cache
def _detectors() -> tuple[tuple[Detector, ...], tuple[Detector, ...]]:
    """(near-long-token detectors, whole-text detectors); group 1 holds the value where
    our patterns match context, detect-secrets' groups are alternations (use group 0)."""
    ours_token = [(kind, p, 1 if p.groups else 0) for kind, p in _EXTRA_TOKEN_SECRETS]
    theirs = [(kind, p, 0) for kind, p in _DETECT_SECRETS_PATTERNS]
    token = [d for d in theirs if d[0] not in _WHOLE_TEXT_TYPES] + ours_token
    whole = [d for d in theirs if d[0] in _WHOLE_TEXT_TYPES] + [
        ("connection_string_password", _CONNECTION_STRING, 1),
        ("password", _PASSWORD, 1),
        ("password", _LOGIN, 1),
        ("password", _USER_SLASH_PASSWORD, 1),
        ("basic_auth_credentials", _BASIC_AUTH, 1),
        ("password", _CREDENTIAL_CALL, 1),
        ("password", _MYSQL_FLAG, 1),
        ("password", _PGPASS, 1),
        ("security_answer", _SECURITY_ANSWER, 1),
    ]
    return tuple(token), tuple(whole)


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def char_classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


_PIECES = re.compile(r"[/_\-.+=]")
_WORDLIKE = re.compile(r"(?:[A-Z]?[a-z]+)+|[A-Z]+|\d{1,4}|[a-z]+\d")


def words_and_paths(value: str) -> bool:
    """A path or a name made of words (`io/badge/Most_Advanced-HTTP`, `com/boto/boto3/
    blob/develop/CONTRIBUTING`), not random characters: long, but not a secret."""
    pieces = [p for p in _PIECES.split(value) if p]
    wordlike = sum(len(p) for p in pieces if _WORDLIKE.fullmatch(p))
    return len(pieces) >= 3 and wordlike >= 0.8 * sum(len(p) for p in pieces)


def _decodes_to_login(value: str) -> bool:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


_TLD_PATH = re.compile(r"(?:com|org|net|io|edu|gov|dev|co|uk|de)/")


def _in_url(text: str, start: int) -> bool:
    """Is `start` inside a URL (`https://…/path`, or `groups.google.com/group/…`)?"""
    chunk_start = max(text.rfind(c, 0, start) for c in " \t\n\"'(<[") + 1
    prefix = text[chunk_start:start]
    return "://" in prefix or (prefix.endswith(".") and _TLD_PATH.match(text, start) is not None)


# Unlabelled long values that are not secrets: a UUID-shaped ID (a labelled one is still
# found by its label), the body of a public key or certificate, and a pagination cursor.
_UUID = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}")
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PAGE_TOKEN = re.compile(
    r"(?i)(?:next|page|pagination|continuation|sync|resume)_?(?:page_?)?token[\"']?\s*[:=]\s*"
    r"[\"']?$"
)


def _in_public_block(text: str, at: int) -> bool:
    """Is `at` inside a PEM block of a public key or a certificate (published, not secret)?"""
    begins = list(_PEM_BEGIN.finditer(text, max(0, at - 4000), at))
    if not begins:
        return False
    label = begins[-1].group(1)
    return ("PUBLIC KEY" in label or "CERTIFICATE" in label) and "-----END" not in text[
        begins[-1].end() : at
    ]


def _accept(kind: str, text: str, match: re.Match[str], group: int) -> Finding | None:
    if group and match.group(group) is None:
        group += 1  # the unquoted alternative of a quoted value
    start, end = match.span(group)
    if kind == "security_answer":  # "first pet 'Biscuit'," — not the quote
        end -= len(text[start:end]) - len(text[start:end].rstrip(".'’\""))
    if kind == "password":  # "…is Lemon!Tree42." — the full stop is not part of it
        end -= len(text[start:end]) - len(text[start:end].rstrip(".!?:)"))
        start += len(text[start:end]) - len(text[start:end].lstrip("="))
    value = text[start:end]
    if _PLACEHOLDER.search(value) or len(set(value)) < 4:
        return None
    if kind == "basic_auth_credentials" and group == 1 and not _decodes_to_login(value):
        return None
    if kind == "aws_secret_key" and _in_url(text, start):
        return None
    if (
        kind == "password"
        and (
            _NO_PASSWORD.fullmatch(value)
            # a constant, a variable, a class (`tokens: ParseResults`)
            or re.fullmatch(r"[A-Z_]+|[a-z]+(?:_[a-z0-9]+)+|(?:[A-Z][a-z]+){2,}", value)
            or value.startswith("#")
            or _CODE.match(value)
            or "{" in value
            or "}" in value
            or value.startswith(("/", "http"))
            or "`" in value  # an rST role or inline code: ":class:`Pxssh`"
            # a type in an annotation: `token: Token) -> …`
            or (re.fullmatch(r"[A-Z][a-z]+", value) and re.match(r"\s*(?:[)\]=]|->)", text[end:]))
            or "<" in text[text.rfind("\n", 0, start) + 1 : start].rsplit(">", 1)[-1]  # <a token>
        )
    ):
        return None
    if kind in ("labelled_secret", "session_cookie") and (
        char_classes(value) < 2
        or sum(c.isdigit() for c in value) < 2
        or sum(c.isalpha() for c in value) < 2
        or entropy(value) < 3.5
        or words_and_paths(value)
        or _CODE.match(value)
    ):
        return None
    if kind == "password" and value.isdigit() and _PIN.search(match.group()):
        return Finding(start, end, kind)  # a PIN is digits only
    if kind == "password" and value.count("/") >= 2:
        return None  # a path
    if kind in ("password", "aws_secret_key") and char_classes(value) < 2:
        return None
    if kind == "aws_secret_key" and (
        entropy(value) < 4.0 or char_classes(value) < 3 or words_and_paths(value)
    ):
        return None
    if kind == "private_key":  # the finding covers the whole PEM block
        footer = _PEM_FOOTER.search(text, end)
        if footer and not _KEY_BODY.search(text, end, footer.start()):
            return None  # "-----BEGIN PRIVATE KEY-----\n...\n-----END …": a form to paste into
        end = footer.end() if footer else end
    return Finding(start, end, kind)


# Where a password-like detector can start: its keywords, " / " and "Basic ". RE2 finds
# them in one linear pass; the Python patterns (lookarounds, lazy gaps) then run only
# near them.
_PASSWORD_ANCHOR = re2.compile(
    r"(?i)\b(?:pass|pas+w|p[@4]s|ps+w|pswd|pwd|pw\b|pword|pin\b|secret|pre-shared|psk|recovery"
    r"|backup|seed|mnemonic|api key|access key|private key|signing key|token|passwort|kennwort"
    r"|contrase|clave|senha|mot de passe|mdp|wachtwoord|has[łl]o|parola|[şs]ifre|pinn?umm?er"
    r"|log ?in|creds?\b|credential|superuser|admin|fallback|wi-?fi|requirepass|masterauth"
    r"|mysql|mariadb|maiden|first (?:pet|school|car|teacher)|childhood"
    r"|security (?:answer|question))"
    r"|\S / \S|\bBasic |:\d{2,5}:|:\*:"
    r"|(?i:auth|bind|connect|login)"  # also inside names: simple_bind_s(…)
)


def _whole_text_windows(kind: str, text: str) -> list[Window]:
    """Where a whole-text detector runs: near its anchors, everywhere, or nowhere."""
    if kind in ("password", "basic_auth_credentials", "security_answer"):
        anchors = spans_of(_PASSWORD_ANCHOR, text)
        found = windows(len(text), anchors, before=40, after=200)
        if kind != "basic_auth_credentials" or "Basic " in text:
            return found
    if kind == "private_key":
        return [(0, len(text))] if "PRIVATE KEY" in text else []
    return [(0, len(text))] if "://" in text else []  # connection strings and basic auth


# What documentation writes where a random value would go: `…-EXAMPLE11111`,
# `a1b2c3d4`, `1234567890`, `abcdef` (a vendor's format, AKIA…EXAMPLE, still counts).
_DOC_FILLER = re.compile(
    r"EXAMPLE|a1b2c3|1234567890|abcdef|dead-?beef|cafe-?ba(?:be|d)|feedface", re.IGNORECASE
)
_ARN = re.compile(r"arn:[\w-]+:[\w-]*:")


def _in_arn(text: str, at: int) -> bool:
    """Is `at` inside an Amazon Resource Name (`arn:aws:iam::…:role/…-j1k7AfTIQtnM`)? It
    names a resource; its random suffix opens nothing."""
    start = max(text.rfind(c, 0, at) for c in " \t\n\"'=(") + 1
    return _ARN.match(text, start) is not None


def find_secrets(text: str) -> Iterator[Finding]:
    token_detectors, whole_detectors = _detectors()
    near_tokens = windows(len(text), spans_of(_LONG_TOKEN, text), before=100, after=10)
    for kind, pattern, group in token_detectors:
        for match in search_windows(pattern, text, near_tokens):
            if (finding := _accept(kind, text, match, group)) is not None:
                yield finding
    vendors = windows(len(text), spans_of(_VENDOR_PREFIX, text), before=60, after=200)
    for kind, pattern in _GATED_SECRETS:
        labelled = kind in ("labelled_secret", "session_cookie")  # a label, then a long token
        for match in search_windows(pattern, text, near_tokens if labelled else vendors):
            if (finding := _accept(kind, text, match, 1 if pattern.groups else 0)) is not None:
                yield finding
    for kind, pattern, group in whole_detectors:
        for match in search_windows(pattern, text, _whole_text_windows(kind, text)):
            if (finding := _accept(kind, text, match, group)) is not None:
                yield finding
    for match in search_windows(_TOKEN, text, near_tokens):
        value = match.group()
        if (
            char_classes(value) >= 3
            and entropy(value) >= 4.5
            and not _PLACEHOLDER.search(value)
            and not words_and_paths(value)
            and not _in_url(text, match.start())
            and not _UUID.fullmatch(value)
            and not _in_public_block(text, match.start())
            and not _PAGE_TOKEN.search(text, max(0, match.start() - 40), match.start())
            and not _DOC_FILLER.search(value)
            and not _in_arn(text, match.start())
        ):
            yield Finding(match.start(), match.end(), "high_entropy_token")
