"""Facts about people that have no format of their own: a life event, a diagnosis, a
faith told about a named colleague or relative (`# Megan is pregnant, due in August`), a
named person's home, devices or family, and a line of code or a log that ties a full name
to an identifier, a handle or a location.

What keeps code and docs clean: a term must sit in a sentence (or a comment line) that
names one person, not inside a CamelCase name or a proper noun; fiction, templates and
form blanks are no one's. Pure code, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import re2

from hybridagent.routing.findings import Finding

# An author's address in a copyright line, published with the code it heads.
ATTRIBUTION = re.compile(
    r"(?i:copyright|\(c\)|©|__(?:author|maintainer|email|credits)__)"
    r"|^[ \t#*]*(?:Author|Maintainer|Contact|Uploaders?)s?:"  # a module's header: "# Author: …"
    # a commit's or a changelog's credit: git trailers, a Debian changelog's sign-off line
    r"|^[ \t]*(?:Signed-off-by|Co-authored-by|Reviewed-by|Reported-by|Acked-by|Tested-by"
    r"|Suggested-by|Helped-by|Cc):"
    r"|^ -- [^<\n]+<",
    re.MULTILINE,
)


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
    # X's: a possessive, not a contraction (What's, It's) nor a disease (Parkinson's disease)
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][a-z]+"
    r"|\b(?!(?:What|It|That|Here|There|Let|Who|Where|How|He|She|This)'s)[A-Z][a-z]+'s\b"
    r"(?! (?:disease|syndrome|palsy|law|theorem|principle|razor|rule))|\b(?:he|she|his|her|him)\b"
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
NOT_A_DISCLOSURE = re.compile(
    r"(?i)\b(?:novel|fiction\w*|character|template|test data|placeholder|example|sample|fake"
    r"|dummy|(?:john|jane) doe|form (?:text|field|label|template)s?|(?:my|the|a) play"
    r"|screenplay|tv show|fairy tale)\b|\[[A-Z_]+\]|_{3,}"
)
_GERMAN = re.compile(r"\b(?:der|die|das|ist|und|ich|einen|eine|zwischen|nicht|mit|wie)\b")


def _names_a_person(span: str) -> bool:
    """A cue that the span is about one person: Mr/Dr X, X's, he/she, a person's key,
    or a capitalised word that is no sentence opener, weekday or code word."""
    if NOT_A_DISCLOSURE.search(span):
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
            continue  # EvictionPolicy, "Hindu Undivided Family": a name, no fact
        start, end = _sentence_around(text, term.start(), term.end())
        line_start = text.rfind("\n", 0, term.start()) + 1
        line_end = text.find("\n", term.end())
        line = text[line_start : len(text) if line_end < 0 else line_end]
        # The sentence, or the line alone: a comment inserted into another's sentence
        # ("… such as\n# Per his therapist's note, …") is read on its own too.
        if _names_a_person(text[start:end]) or _names_a_person(line):
            yield Finding(term.start(), term.end(), "personal_disclosure")
    for match in _NAMED_RELATIVE.finditer(text):
        if match.group(1) not in _NOT_A_NAME:
            yield Finding(*match.span(), "personal_disclosure")
    for match in _OWN_EMPLOYER.finditer(text):
        yield Finding(*match.span(), "employment")
    for match in _HISTORY_LISTING.finditer(text):
        yield Finding(*match.span(), "personal_disclosure")
    for match in _HOUSEHOLD.finditer(text):
        if match.group(1) not in _NOT_A_NAME:
            yield Finding(*match.span(), "personal_disclosure")
    for match in _PERSONAL_PLACE.finditer(text):
        if not NOT_A_DISCLOSURE.search(match.group()) and not any(
            word in _NOT_A_NAME for word in match.group(1).split()
        ):
            yield Finding(*match.span(), "personal_disclosure")


# "Nadia Rahman's nursery", "Gabriel Costa's search history": a named person's home,
# device or private record. (These whole-text patterns are RE2's: one linear pass each,
# where Python's re tried them at every word.)
_PERSONAL_PLACE = re2.compile(
    r"\b([A-Z][a-z]+ [A-Z][a-z'-]+)'s (?:home|house|flat|apartment|nursery|bedroom|kitchen"
    r"|garage|car|phone|laptop|front door|doorbell|thermostat|baby monitor|camera|router"
    r"|search history|browsing history|private messages|dms|inbox|texts|location history"
    r"|daughter|son|kids|children|wife|husband|girlfriend|boyfriend|mother|father|mum|mom"
    r"|dad)\b"
)
# A relative of the writer's, by name: "my wife Sunita", "mi hijo Pablo", "mein Sohn Finn".
_NAMED_RELATIVE = re2.compile(
    r"\b(?i:my|mi|mein|meine|meinem|meiner|ma|mon|mijn|min|mia|mio|minha|meu|moja|mój)"
    r" (?:(?i:twin|little|big|older|younger|baby|step|ex|late) )?"
    r"(?i:wife|husband|son|daughter|brother|sister|mom|mum|mother|dad|father|grandma|grandpa"
    r"|grandmother|grandfather|aunt|uncle|cousin|niece|nephew|partner|boyfriend|girlfriend"
    r"|fianc[ée]e?|bro|sis|hijo|hija|hermano|hermana|esposa|esposo|madre|padre|sohn|tochter"
    r"|frau|mann|bruder|schwester|fils|fille|frère|s[œo]eur|femme|mari|zoon|dochter|broer"
    r"|zus|vrouw|bror|syster|fru|figlio|figlia|moglie|marito|filho|filha|irm[ãa]o?|syn|córka)"
    r",? ([A-Z][a-z]+)\b"
)
# The writer's own job: "I'm a backend dev at Spotify", "I work for Acme", "trabajo en Inditex".
_OWN_EMPLOYER = re2.compile(
    r"\b(?:I work|I'm working|I am working|I've worked|I have worked|I worked|I used to work"
    r"|(?:I'm|I am|I was) an? [a-z][a-z -]{1,30}|(?i:trabajo|arbeite|je travaille|lavoro"
    r"|trabalho|ik werk))(?: \w+)? (?:at|for|in|en|bei|chez|presso|na|bij) [A-Z][\w&.-]+"
)
# A history's entries, listed: "search history: 'symptoms of …'", "browser history of my
# teenager: 'how many …'".
_HISTORY_LISTING = re2.compile(
    r"(?i)\b(?:search|browser|browsing|watch|location) history\b[^\n:]{0,30}:\s*[\"'‘“]"
)
# "Patel residence", "the Okafor household": a family's home, named.
_HOUSEHOLD = re2.compile(r"\b([A-Z][a-z]+) (?:residence|household)\b")
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
_OWNER_FIELD = re2.compile(
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
        if not any(c in line for c in "\"'#=") or ATTRIBUTION.search(line):
            continue
        names = [
            m
            for m in _FULL_NAME.finditer(line)
            if " " in m.group()  # Split-Path, Content-Type: words of code
            and not any(w in _NOT_A_NAME for w in re.split(r"[ -]", m.group()))
            and not _ORGANISATION_AFTER.match(line, m.end())
        ]
        if not names or NOT_A_DISCLOSURE.search(line):
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
