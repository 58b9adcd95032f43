"""Build the long_d held-out set: ~1,500-char slices of installed packages.

300 ``long_clean`` rows are unmodified slices; 300 ``long_inserted`` rows are
other, non-overlapping slices with exactly one invented sensitive item (from
items_d.py) inserted at a line boundary and rendered to fit its context.

Usage:
    python make_long_d.py            # build long_d.jsonl
    python make_long_d.py --check    # validate long_d.jsonl
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import sys
import textwrap
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from items_d import CATEGORIES, ITEMS  # noqa: E402

SEED = 20261203
SITE = Path("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages")
OUT = Path(__file__).resolve().parent / "long_d.jsonl"
PACKAGES = [
    "awscli", "docutils", "dotenv", "graphql", "hypothesis", "idna", "itsdangerous",
    "jedi", "joserfc", "jsonpath_ng", "libcst", "mpmath", "packaging", "parso",
    "pexpect", "pluggy", "pydantic", "pydantic_settings", "pyparsing", "_pytest",
    "referencing", "responses", "s3transfer", "samtranslator", "sympy", "traitlets",
    "wrapt", "yaml", "openapi_spec_validator", "sortedcontainers",
]
DOC_EXT = (".md", ".rst", ".txt")
MIN_LEN, MAX_LEN = 1300, 1700
N_CLEAN = N_INS = 300
MAX_ITEM_USES = 2


# ----------------------------------------------------------------- file scan
@dataclass(eq=False)
class FileInfo:
    rel: str
    lines: list[str]
    is_py: bool
    # py only: per 1-based line
    doc_line: set[int] = field(default_factory=set)
    stmt_start: set[int] = field(default_factory=set)
    in_string_pair: set[int] = field(default_factory=set)  # l: l-1 and l in one string


def read_lines(path: Path) -> list[str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if "\r" in text or "\x0c" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text or "\x0c" in text:
            return None
    return text.split("\n")


def analyse_py(fi: FileInfo) -> bool:
    """Mark docstring/comment lines, statement starts and in-string line pairs."""
    src = "\n".join(fi.lines)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    new_logical = True
    for tok in toks:
        tt, (sr, _sc), (er, _ec) = tok.type, tok.start, tok.end
        if tt == tokenize.COMMENT:
            fi.doc_line.add(sr)
            continue
        if tt in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING):
            continue
        if tt == tokenize.NEWLINE:
            new_logical = True
            continue
        if tt == tokenize.ENDMARKER:
            break
        if new_logical:
            fi.stmt_start.add(sr)
            if tt == tokenize.STRING:
                fi.doc_line.update(range(sr, er + 1))
        if tt == tokenize.STRING and er > sr:
            fi.doc_line.update(range(sr, er + 1))
            fi.in_string_pair.update(range(sr + 1, er + 1))
        new_logical = False
    return True


def scan_package(pkg: str) -> list[FileInfo]:
    root = SITE / pkg
    seen: set[str] = set()
    out: list[FileInfo] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for fn in sorted(filenames):
            if not (fn.endswith(".py") or fn.endswith(DOC_EXT)):
                continue
            p = Path(dirpath) / fn
            lines = read_lines(p)
            if lines is None:
                continue
            digest = hashlib.sha1("\n".join(lines).encode()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            rel = str(p.relative_to(SITE))
            out.append(FileInfo(rel, lines, fn.endswith(".py")))
    return out


# ------------------------------------------------------------------ windows
@dataclass(eq=False)
class Window:
    fi: FileInfo
    start: int  # 0-based index of first line
    end: int  # exclusive
    ctype: str  # code | docpy | prose

    @property
    def text(self) -> str:
        return "\n".join(self.fi.lines[self.start : self.end])


def jlen(lines: list[str]) -> int:
    return sum(len(x) for x in lines) + max(0, len(lines) - 1)


def tile(fi: FileInfo, rng: random.Random) -> list[Window]:
    """Cut a file into non-overlapping windows of MIN_LEN..MAX_LEN chars."""
    out: list[Window] = []
    n = len(fi.lines)
    pos = rng.randrange(0, 8)
    while pos < n:
        target = rng.randint(1380, 1690)
        end, length = pos, -1
        while end < n and length + 1 + len(fi.lines[end]) <= MAX_LEN:
            length += 1 + len(fi.lines[end])
            end += 1
            if length >= target:
                break
        if length >= MIN_LEN and fi.lines[pos].strip():
            out.append(Window(fi, pos, end, classify(fi, pos, end)))
            pos = end + rng.randrange(0, 25)
        else:
            pos = max(end, pos + 1) if length < MIN_LEN else pos + 1
    return out


def classify(fi: FileInfo, start: int, end: int) -> str:
    if not fi.is_py:
        return "prose"
    nonblank = [i + 1 for i in range(start, end) if fi.lines[i].strip()]
    if not nonblank:
        return "code"
    ratio = sum(1 for ln in nonblank if ln in fi.doc_line) / len(nonblank)
    return "docpy" if ratio >= 0.5 else "code"


# ---------------------------------------------------------------- rendering
def indent_of(s: str) -> str:
    return s[: len(s) - len(s.lstrip())]


BLOCK_KEYWORDS = ("else", "elif", "except", "finally", "case")
JSONISH = re.compile(r'^\s*"[^"]+"\s*:')


def contexts(fi: FileInfo, start: int, lines: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Candidate insertion points (index into ``lines``, indent) per context."""
    ctx: dict[str, list[tuple[int, str]]] = defaultdict(list)
    n = len(lines)
    in_fence = False
    fence_state: list[bool] = []
    for s in lines:
        fence_state.append(in_fence)
        if s.lstrip().startswith("```"):
            in_fence = not in_fence
    for i in range(2, n - 1):  # insert before lines[i]; keep >=2 lines of context above
        prev, cur = lines[i - 1], lines[i]
        if fi.is_py:
            ln = start + i + 1  # 1-based file line number of cur
            if ln in fi.in_string_pair:
                if cur.strip() or prev.strip():
                    ind = indent_of(cur) if cur.strip() else indent_of(prev)
                    if not (cur.strip().startswith(">>>") or prev.strip().startswith(">>>") or prev.strip().startswith("...")):
                        ctx["py_doc"].append((i, ind))
                continue
            if not cur.strip():
                continue
            ind = indent_of(cur)
            if ln in fi.stmt_start and not cur.lstrip().startswith("#"):
                word = re.split(r"[\s:(]", cur.strip(), maxsplit=1)[0]
                pprev = prev.strip()
                if word not in BLOCK_KEYWORDS and not pprev.startswith("@") and not pprev.endswith("\\"):
                    ctx["py_stmt"].append((i, ind))
            splits_comment = prev.lstrip().startswith("#") and cur.lstrip().startswith("#")
            if not prev.rstrip().endswith("\\") and not splits_comment:
                ctx["py_comment"].append((i, ind))
        else:
            is_md = fi.rel.endswith(".md")
            if is_md and fence_state[i] and fence_state[i - 1] and not cur.lstrip().startswith("```") and cur.strip() and prev.strip():
                if not prev.rstrip().endswith("\\"):
                    ctx["literal"].append((i, indent_of(cur)))
                continue
            if prev.strip() and cur.strip() and prev.startswith((" ", "\t")) and cur.startswith((" ", "\t")) and not is_md:
                if prev.rstrip().endswith("\\"):
                    continue
                if JSONISH.match(prev) and prev.rstrip().endswith(",") and JSONISH.match(cur):
                    ctx["json"].append((i, indent_of(cur)))
                elif not re.match(r"^\s*[\[\]{}\"]", prev) and not re.match(r"^\s*[\[\]{}\"]", cur):
                    ctx["literal"].append((i, indent_of(cur)))
                continue
            ps = prev.strip()
            if (
                ps
                and not cur.strip()
                and not prev.startswith((" ", "\t"))
                and not fence_state[i - 1]
                and re.match(r"^[A-Za-z(`*\"']", ps)
                and not re.match(r"^[=\-~^#*+`]{3,}$", ps)
                and not ps.startswith(("..", "*", "-", "#", "|"))
                and ps[-1] in ".:)'\"`"
                and len(ps.split()) >= 4
                and i + 1 < n
                and not re.match(r"^[=\-~^]{3,}$", lines[i + 1].strip() or "x")
                and not ps.endswith("::")
            ):
                ctx["para_end"].append((i, ""))
            cs = cur.strip()
            if (
                not ps
                and cs
                and not cur.startswith((" ", "\t"))
                and not fence_state[i]
                and re.match(r"^[A-Z(`*]", cs)
                and not cs.startswith(("..", "* ", "- ", "#", "|", "**"))
                and len(cs.split()) >= 5
                and i + 1 < n
                and not re.match(r"^[=\-~^]{3,}$", lines[i + 1].strip() or "x")
            ):
                ctx["para_start"].append((i, ""))
            if not is_md and prev.startswith("..") and cur.startswith(".."):
                ctx["comment_rst"].append((i, ""))
            elif fi.rel.endswith(".txt") and (cur.startswith("#") or prev.startswith("#")):
                ctx["comment_hash"].append((i, ""))
    return ctx


def wrap(prefix: str, text: str, width: int = 79) -> list[str]:
    w = max(40, width - len(prefix))
    return [prefix + part for part in textwrap.wrap(text, w, break_long_words=False, break_on_hyphens=False)]


def py_name(key: str, ind: str) -> str:
    return key.upper() if ind == "" else key.lower()


def render(
    item: tuple[str, ...], ctx: str, ind: str, is_md: bool, rng: random.Random, camel: bool = False
) -> list[str]:
    style = item[1]
    tick = "`" if is_md else "``"
    if style == "kv":
        key, val = item[2], item[3]
        multi = "\n" in val
        if ctx == "py_stmt":
            if multi:
                vl = val.split("\n")
                return [f'{ind}{py_name(key, ind)} = """{vl[0]}'] + vl[1:-1] + [f'{vl[-1]}"""']
            return [f"{ind}{py_name(key, ind)} = {val!r}"]
        if ctx == "py_comment":
            if multi:
                return [f"{ind}# {key}:"] + [f"{ind}#   {x}" for x in val.split("\n")]
            return [f"{ind}# {rng.choice(['', 'local ', 'prod '])}{key}: {val}"]
        if ctx == "py_doc":
            if multi:
                return [f"{ind}{key}::", ""] + [f"{ind}    {x}" for x in val.split("\n")]
            return [rng.choice([f"{ind}Example: ``{key}={val}``", f"{ind}e.g. {key} = {val!r}", f"{ind}(we test with {key}={val})"])]
        if ctx == "json":
            if camel:
                key = "".join(part.capitalize() for part in key.split("_"))
            return [f'{ind}"{key}": {json.dumps(val)},']
        if ctx == "literal":
            if multi:
                return [f"{ind}{key.upper()}=" + val.split("\n")[0]] + [f"{ind}{x}" for x in val.split("\n")[1:]]
            return [f"{ind}{rng.choice(['', 'export '])}{key.upper()}={val}"]
        if ctx in ("para_end", "para_start"):
            if multi:
                return [f"The key we used for the demo is ``{key}``: " + val.replace("\n", " ")]
            return [rng.choice([
                f"For the demo account we set {tick}{key}={val}{tick}.",
                f"Locally, {tick}{key}{tick} is {tick}{val}{tick}.",
                f"(Our staging value for {tick}{key}{tick} is {tick}{val}{tick}.)",
            ])]
        if ctx in ("comment_rst", "comment_hash"):
            mark = ".." if ctx == "comment_rst" else "#"
            if multi:
                return [f"{mark} {key}:"] + [f"   {x}" if mark == ".." else f"# {x}" for x in val.split("\n")]
            return [f"{mark} {key}={val}"]
    if style == "line":
        line = item[2]
        if ctx in ("py_stmt", "py_comment"):
            return [f"{ind}# {rng.choice(['', 'seen in prod: ', 'e.g. ', 'repro: '])}{line}"]
        if ctx == "py_doc":
            return [f"{ind}{line}"]
        if ctx == "literal":
            return [f"{ind}{line}"]
        if ctx in ("para_end", "para_start"):
            return [rng.choice([f"Example: {tick}{line}{tick}", f"We hit this with {tick}{line}{tick}."])]
        if ctx == "comment_rst":
            return [f".. {line}"]
        if ctx == "comment_hash":
            return [f"# {line}"]
    if style == "prose":
        sent = item[2]
        if ctx in ("py_stmt", "py_comment"):
            pre = rng.choice(["# ", "# ", "# NOTE: ", "# NB: "])
            out = wrap(ind + pre, sent)
            cont = ind + "# " + " " * (len(pre) - 2)
            return [out[0]] + [cont + x[len(ind + pre):] for x in out[1:]]
        if ctx == "py_doc":
            return wrap(ind, sent)
        if ctx == "literal":
            return [f"{ind}# {sent}"]
        if ctx in ("para_end", "para_start"):
            return [sent]
        if ctx == "comment_rst":
            return [f".. {sent}"]
        if ctx == "comment_hash":
            return [f"# {sent}"]
    raise ValueError((item, ctx))


CTX_PREF = {
    "kv": ["py_stmt", "py_stmt", "py_doc", "py_comment", "json", "literal", "para_end", "para_start", "comment_rst", "comment_hash"],
    "line": ["py_comment", "py_doc", "literal", "literal", "para_end", "para_start", "comment_rst", "comment_hash"],
    "prose": ["py_comment", "py_comment", "py_doc", "py_doc", "para_end", "para_start", "para_start", "literal", "comment_rst", "comment_hash"],
}


def core_of(item: tuple[str, ...]) -> str:
    return item[3] if item[1] == "kv" else item[2]


def norm(s: str) -> str:
    out = []
    for ln in s.split("\n"):
        ln = ln.strip()
        ln = re.sub(r"^(#|\.\.)\s*", "", ln)
        out.append(ln)
    return re.sub(r"\s+", " ", " ".join(out))


def try_insert(w: Window, item: tuple[str, ...], rng: random.Random) -> tuple[str, str, str] | None:
    lines = w.fi.lines[w.start : w.end]
    ctxs = contexts(w.fi, w.start, lines)
    prefs = [c for c in CTX_PREF[item[1]] if ctxs.get(c)]
    if not prefs:
        return None
    is_md = w.fi.rel.endswith(".md")
    for _ in range(6):
        ctx = rng.choice(prefs)
        i, ind = rng.choice(ctxs[ctx])
        camel = bool(re.match(r'^\s*"[A-Z]', lines[i]))
        ins = render(item, ctx, ind, is_md, rng, camel)
        ins_len = jlen(ins) + 1
        base = list(lines)
        # shorten the base from the end (never past the insertion point) to fit
        while jlen(base) + ins_len > MAX_LEN and len(base) > i + 1:
            base.pop()
        total = jlen(base) + ins_len
        if not (MIN_LEN <= total <= MAX_LEN) or len(base) <= i:
            continue
        text_lines = base[:i] + ins + base[i:]
        text = "\n".join(text_lines)
        inserted = "\n".join(ins)
        if text.count(inserted) != 1:
            continue
        return text, inserted, ctx
    return None


# --------------------------------------------------------------------- build
PKG_CHARS: dict[str, int] = {}


def allocate(pools: dict[str, list[Window]]) -> dict[str, int]:
    total = N_CLEAN + N_INS
    w = {p: PKG_CHARS[p] ** 0.4 * (2.5 if p == "awscli" else 1.0) for p in pools}
    s = sum(w.values())
    alloc = {p: max(10, round(total * v / s)) for p, v in w.items()}
    alloc = {p: min(a, len(pools[p])) for p, a in alloc.items()}
    # adjust to the exact total, largest pools absorb the difference
    order = sorted(pools, key=lambda p: -len(pools[p]))
    k = 0
    while sum(alloc.values()) != total:
        p = order[k % len(order)]
        if sum(alloc.values()) < total and alloc[p] < len(pools[p]):
            alloc[p] += 1
        elif sum(alloc.values()) > total and alloc[p] > 10:
            alloc[p] -= 1
        k += 1
    return alloc


def pick_mix(pkg: str, ws: list[Window], n: int, rng: random.Random) -> list[Window]:
    by: dict[str, list[Window]] = defaultdict(list)
    for x in ws:
        by[x.ctype].append(x)
    for v in by.values():
        rng.shuffle(v)
    has_prose = bool(by["prose"])
    prose_share = 0.8 if pkg == "awscli" else 0.35
    share = {"prose": prose_share, "docpy": (1 - prose_share) * 0.6, "code": (1 - prose_share) * 0.4} if has_prose else {"prose": 0.0, "docpy": 0.45, "code": 0.55}
    chosen: list[Window] = []
    for t, sh in share.items():
        chosen += by[t][: round(n * sh)]
    rest = [x for t in ("docpy", "code", "prose") for x in by[t] if x not in chosen]
    rng.shuffle(rest)
    chosen += rest[: n - len(chosen)]
    return chosen[:n]


def build() -> None:
    rng = random.Random(SEED)
    pools: dict[str, list[Window]] = {}
    for pkg in PACKAGES:
        files = scan_package(pkg)
        PKG_CHARS[pkg] = sum(jlen(f.lines) for f in files)
        rng.shuffle(files)
        ws: list[Window] = []
        seen_text: set[str] = set()
        budget = 0
        for fi in files:
            if fi.is_py and not analyse_py(fi):
                continue
            for wdw in tile(fi, rng):
                h = hashlib.sha1(wdw.text.encode()).hexdigest()
                if h in seen_text:
                    continue
                seen_text.add(h)
                ws.append(wdw)
                budget += 1
            if budget >= 400:
                break
        pools[pkg] = ws
    # drop duplicates across packages
    global_seen: set[str] = set()
    for pkg in PACKAGES:
        keep = []
        for wdw in pools[pkg]:
            h = hashlib.sha1(wdw.text.encode()).hexdigest()
            if h not in global_seen:
                global_seen.add(h)
                keep.append(wdw)
        pools[pkg] = keep
    alloc = allocate(pools)

    # item schedule: every item once, then random second uses
    idx = list(range(len(ITEMS)))
    rng.shuffle(idx)
    extra = rng.sample(range(len(ITEMS)), N_INS - len(ITEMS)) if N_INS > len(ITEMS) else []
    schedule = (idx + extra)[:N_INS]
    rng.shuffle(schedule)

    clean_rows: list[dict[str, object]] = []
    ins_rows: list[dict[str, object]] = []
    ins_targets: list[tuple[str, Window]] = []
    spare: list[Window] = []
    for pkg in PACKAGES:
        chosen = pick_mix(pkg, pools[pkg], alloc[pkg], rng)
        rng.shuffle(chosen)
        half = len(chosen) // 2 + (rng.random() < 0.5 and len(chosen) % 2)
        for wdw in chosen[:half]:
            clean_rows.append(row_clean(wdw))
        for wdw in chosen[half:]:
            ins_targets.append((pkg, wdw))
        spare += [x for x in pools[pkg] if x not in chosen]
    rng.shuffle(spare)
    # balance kinds to exactly 300 / 300
    while len(clean_rows) > N_CLEAN:
        r = clean_rows.pop(rng.randrange(len(clean_rows)))
        ins_targets.append(("?", r["_w"]))  # type: ignore[arg-type]
    while len(clean_rows) < N_CLEAN:
        pkg, wdw = ins_targets.pop(rng.randrange(len(ins_targets)))
        clean_rows.append(row_clean(wdw))
    uses: Counter[int] = Counter()
    pending = list(schedule)
    ctx_count: Counter[str] = Counter()
    for _pkg, wdw in ins_targets:
        done = False
        for cand in [wdw]:
            for attempt in range(len(pending)):
                it = pending[attempt]
                res = try_insert(cand, ITEMS[it], rng)
                if res is None:
                    continue
                text, inserted, ctx = res
                ins_rows.append(row_ins(cand, text, inserted, ITEMS[it]))
                uses[it] += 1
                ctx_count[ctx] += 1
                pending.pop(attempt)
                done = True
                break
            if done:
                break
        if not done:
            # fall back to a spare window of the same package family
            while spare and not done:
                cand = spare.pop()
                for attempt in range(len(pending)):
                    it = pending[attempt]
                    res = try_insert(cand, ITEMS[it], rng)
                    if res is None:
                        continue
                    text, inserted, ctx = res
                    ins_rows.append(row_ins(cand, text, inserted, ITEMS[it]))
                    uses[it] += 1
                    ctx_count[ctx] += 1
                    pending.pop(attempt)
                    done = True
                    break
    assert len(ins_rows) == N_INS, len(ins_rows)
    rows = clean_rows + ins_rows
    for r in rows:
        r.pop("_w", None)
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")
    print("insert contexts:", dict(ctx_count))
    print("chunk types:", dict(CTYPES))


CTYPES: Counter[tuple[str, str]] = Counter()


def row_clean(w: Window) -> dict[str, object]:
    CTYPES[("long_clean", w.ctype)] += 1
    return {
        "text": w.text,
        "sensitive": False,
        "category": "none",
        "kind": "long_clean",
        "source": f"{w.fi.rel}:{w.start + 1}",
        "_w": w,
    }


def row_ins(w: Window, text: str, inserted: str, item: tuple[str, ...]) -> dict[str, object]:
    CTYPES[("long_inserted", w.ctype)] += 1
    return {
        "text": text,
        "sensitive": True,
        "category": item[0],
        "kind": "long_inserted",
        "source": f"{w.fi.rel}:{w.start + 1}",
        "inserted": inserted,
    }


# --------------------------------------------------------------------- check
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def check() -> int:
    errs: list[str] = []
    rows = [json.loads(x) for x in OUT.read_text(encoding="utf-8").splitlines()]
    kinds = Counter(r["kind"] for r in rows)
    if len(rows) != N_CLEAN + N_INS or kinds != {"long_clean": N_CLEAN, "long_inserted": N_INS}:
        errs.append(f"counts {len(rows)} {kinds}")
    # items table sanity
    cores = [core_of(it) for it in ITEMS]
    if len(set(cores)) != len(cores) or len(ITEMS) < 150:
        errs.append("items not distinct or fewer than 150")
    for it in ITEMS:
        if it[0] not in CATEGORIES:
            errs.append(f"bad category {it}")
        if it[0] == "financial":
            for m in re.findall(r"\b(?:\d[ ]?){13,19}\b", core_of(it)):
                d = m.replace(" ", "")
                if d[0] in "3456" and len(d) in (15, 16) and not luhn_ok(d):
                    errs.append(f"luhn {d}")
            for m in re.findall(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", core_of(it)):
                if not iban_ok(m):
                    errs.append(f"iban {m}")
    ncore = {norm(c): i for i, c in enumerate(cores)}
    ncore.update({norm(c.replace("\n", "\\n")): i for i, c in enumerate(cores) if "\n" in c})
    uses: Counter[int] = Counter()
    spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    file_cache: dict[str, list[str]] = {}
    texts: set[str] = set()
    for k, r in enumerate(rows):
        need = {"text", "sensitive", "category", "kind", "source"}
        if r["kind"] == "long_inserted":
            need |= {"inserted"}
        if set(r) != need:
            errs.append(f"row {k} fields {sorted(r)}")
            continue
        t = r["text"]
        if not (MIN_LEN <= len(t) <= MAX_LEN):
            errs.append(f"row {k} len {len(t)}")
        if t in texts:
            errs.append(f"row {k} duplicate text")
        texts.add(t)
        rel, _, first = r["source"].rpartition(":")
        if rel not in file_cache:
            fl = read_lines(SITE / rel)
            file_cache[rel] = fl or []
        flines = file_cache[rel]
        start = int(first) - 1
        tl = t.split("\n")
        if r["kind"] == "long_clean":
            if r["sensitive"] is not False or r["category"] != "none":
                errs.append(f"row {k} clean labels")
            base = tl
        else:
            if r["sensitive"] is not True or r["category"] not in CATEGORIES:
                errs.append(f"row {k} inserted labels")
            ins = r["inserted"]
            il = ins.split("\n")
            if t.count(ins) != 1:
                errs.append(f"row {k} inserted occurs {t.count(ins)}x")
            pos = [j for j in range(len(tl) - len(il) + 1) if tl[j : j + len(il)] == il]
            if len(pos) != 1:
                errs.append(f"row {k} inserted not at a unique line boundary")
                continue
            j = pos[0]
            base = tl[:j] + tl[j + len(il) :]
            if j == 0 or j + len(il) >= len(tl):
                errs.append(f"row {k} insertion not interior")
            hit = sorted({i for nc, i in ncore.items() if nc in norm(ins)})
            if len(hit) != 1:
                errs.append(f"row {k} inserted matches {len(hit)} items")
            else:
                uses[hit[0]] += 1
                if ITEMS[hit[0]][0] != r["category"]:
                    errs.append(f"row {k} category mismatch")
            # no other item core sneaks in anywhere else
        if flines[start : start + len(base)] != base:
            errs.append(f"row {k} base is not an exact slice of {r['source']}")
        spans[rel].append((start, start + len(base), k))
    for rel, ss in spans.items():
        ss.sort()
        for a, b in zip(ss, ss[1:]):
            if b[0] < a[1]:
                errs.append(f"overlap {rel} rows {a[2]} {b[2]}")
    if uses and max(uses.values()) > MAX_ITEM_USES:
        errs.append("item used more than twice")
    if len(uses) < 150:
        errs.append(f"only {len(uses)} distinct items used")
    for e in errs[:50]:
        print("ERROR", e)
    cat = Counter(r["category"] for r in rows)
    pk = Counter(r["source"].split("/")[0] for r in rows)
    ext = Counter((r["kind"], os.path.splitext(r["source"].rpartition(":")[0])[1]) for r in rows)
    machine = sum(n for i, n in uses.items() if ITEMS[i][1] != "prose")
    print("rows", len(rows), dict(kinds))
    print("categories", dict(sorted(cat.items())))
    print("packages", dict(sorted(pk.items())))
    print("extensions", dict(sorted(ext.items())))
    print(f"distinct items used {len(uses)} / {len(ITEMS)}; machine-format uses {machine}/{sum(uses.values())}")
    print("lengths min/max", min(len(r["text"]) for r in rows), max(len(r["text"]) for r in rows))
    print("OK" if not errs else f"{len(errs)} errors")
    return 1 if errs else 0


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(check())
    build()
