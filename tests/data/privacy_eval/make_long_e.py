#!/usr/bin/env python3
"""Build /work/heldout_e/long_e.jsonl: 600 long (~1,500 char) chunks of public
package code/docs, 300 clean and 300 with exactly one invented sensitive item.

Usage:  python make_long_e.py          # build + check
        python make_long_e.py --check  # check an existing file only
"""
import ast
import collections
import hashlib
import io
import json
import os
import random
import re
import sys
import tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from items_e import ITEMS  # noqa: E402

SP = "/work/main/.venv/lib/python3.11/site-packages"
OUT = os.path.join(HERE, "long_e.jsonl")
SEED = 20261204
N_CLEAN = 300
N_INS = 300
MINL, MAXL = 1300, 1700
CAP = int(0.15 * (N_CLEAN + N_INS))  # 90

# package dir -> dist-info dir (for METADATA docs and versions)
PACKAGES = {
    "openai": "openai-3.60.0.dist-info",
    "agents": "openai_agents-0.22.3.dist-info",
    "temporalio": "temporalio-1.35.0.dist-info",
    "litellm": "litellm-1.83.0.dist-info",
    "sqlalchemy": "sqlalchemy-2.1.9.dist-info",
    "starlette": "starlette-1.10.0.dist-info",
    "fastapi": "fastapi-0.165.0.dist-info",
    "httpx": "httpx-0.29.0.dist-info",
    "httpcore": "httpcore-1.0.9.dist-info",
    "anyio": "anyio-4.16.0.dist-info",
    "rich": "rich-15.0.0.dist-info",
    "typer": "typer-0.29.2.dist-info",
    "uvicorn": "uvicorn-0.55.0.dist-info",
    "tiktoken": "tiktoken-0.14.0.dist-info",
    "phonenumbers": "phonenumbers-9.0.43.dist-info",
    "stdnum": "python_stdnum-2.2.dist-info",
    "detect_secrets": "detect_secrets-1.5.0.dist-info",
    "schemathesis": "schemathesis-4.32.5.dist-info",
    "redis": "redis-8.1.0.dist-info",
    "psycopg": "psycopg-3.3.9.dist-info",
    "cryptography": "cryptography-50.0.2.dist-info",
    "aiohttp": "aiohttp-3.14.5.dist-info",
    "multidict": "multidict-7.2.1.dist-info",
    "yarl": "yarl-1.25.1.dist-info",
}
DIST2PKG = {v: k for k, v in PACKAGES.items()}
DOC_EXT = (".md", ".rst", ".txt")
EXCLUDE_PARTS = {
    # generated data tables, not code/docs
    "phonenumbers": ("phonenumbers/data/", "phonenumbers/shortdata/", "phonenumbers/geodata/",
                     "phonenumbers/carrierdata/", "phonenumbers/tzdata/"),
    # Next.js build payloads and a 1.3 MB model-name list
    "litellm": ("litellm/proxy/_experimental/", "litellm/llms/huggingface/huggingface_llms_metadata/"),
    # secrets test vectors (none shipped in these wheels, rule kept for safety)
    "detect_secrets": ("detect_secrets/tests/", "/testing/"),
    "stdnum": ("stdnum/tests/",),
}


def jl(lines):
    return "\n".join(lines)


# ----------------------------------------------------------------- file scanning
def list_files(pkg):
    out = []
    root = os.path.join(SP, pkg)
    for dp, dns, fns in os.walk(root):
        dns[:] = sorted(d for d in dns if d != "__pycache__")
        for fn in sorted(fns):
            rel = os.path.relpath(os.path.join(dp, fn), SP)
            if any(x in rel for x in EXCLUDE_PARTS.get(pkg, ())):
                continue
            if fn.endswith(".py") or fn.endswith(DOC_EXT):
                if "LICENSE" in fn.upper() or "LICENCE" in fn.upper():
                    continue
                out.append(rel)
    meta = os.path.join(PACKAGES[pkg], "METADATA")
    if os.path.exists(os.path.join(SP, meta)):
        out.append(meta)
    return out


def read_lines(rel):
    with open(os.path.join(SP, rel), encoding="utf-8") as f:
        txt = f.read()
    return txt.split("\n")


class PyInfo:
    """Line-level facts for a .py file (1-based line numbers)."""

    def __init__(self, lines):
        src = jl(lines)
        self.doc_ranges = []  # (start, end) of bare string statements
        self.stmt_start = set()
        self.comment = set()
        self.ok = True
        self.deco = set()
        try:
            tree = ast.parse(src)
            for node in ast.walk(tree):
                if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str)):
                    self.doc_ranges.append((node.lineno, node.end_lineno))
                for d in getattr(node, "decorator_list", ()):
                    self.deco.update(range(d.lineno - 1, d.end_lineno + 1))
        except (SyntaxError, ValueError):
            self.ok = False
        self.doc = set()
        for a, b in self.doc_ranges:
            self.doc.update(range(a, b + 1))
        try:
            depth = 0
            in_logical = False
            seen = set()
            for tok in tokenize.generate_tokens(io.StringIO(src).readline):
                ln = tok.start[0]
                if tok.type == tokenize.COMMENT:
                    self.comment.add(ln)
                if ln not in seen and tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                                       tokenize.DEDENT, tokenize.ENDMARKER):
                    seen.add(ln)
                    if depth == 0 and not in_logical:
                        self.stmt_start.add(ln)
                if tok.type == tokenize.OP and tok.string in "([{":
                    depth += 1
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    depth = max(0, depth - 1)
                if tok.type == tokenize.NEWLINE:
                    in_logical = False
                elif tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                    in_logical = True
        except (tokenize.TokenError, IndentationError, SyntaxError):
            self.ok = False
        self.doc_range_of = {}
        for a, b in self.doc_ranges:
            for ln in range(a, b + 1):
                self.doc_range_of.setdefault(ln, (a, b))


def is_doc(rel):
    return rel.endswith(DOC_EXT) or rel.endswith("METADATA")


def segments_for_file(rel, lines, rng):
    """Non-overlapping line-aligned windows of 1300-1700 chars."""
    segs = []
    n = len(lines)
    i = rng.randrange(0, min(15, max(1, n)))
    if rel.endswith("METADATA"):
        # skip the RFC 822 header block; use the long description body only
        hdr_end = lines.index("") if "" in lines else 0
        i += hdr_end + 1
    while i < n:
        target = rng.randint(MINL, 1520)
        j = i
        size = -1
        while j < n and size < target:
            size += len(lines[j]) + 1
            j += 1
        if size < MINL:
            break
        if size <= MAXL:
            body = lines[i:j]
            if jl(body).strip():
                segs.append((i, j))
            i = j + rng.randrange(0, 12)
        else:
            i = j  # a very long line; skip past it
    return segs


def classify(rel, s, e, info):
    if is_doc(rel):
        return "doc_prose"
    nonblank = [k for k in range(s, e) if True]
    nb = 0
    dc = 0
    for k in nonblank:
        ln = k + 1
        if not LINES_CACHE[rel][k].strip():
            continue
        nb += 1
        if ln in info.doc or ln in info.comment:
            dc += 1
    if nb and dc / nb >= 0.5:
        return "docstring_comment"
    return "code"


LINES_CACHE = {}
SITES = collections.Counter()
INFO_CACHE = {}


def get_info(rel):
    if rel not in INFO_CACHE:
        INFO_CACHE[rel] = PyInfo(LINES_CACHE[rel]) if rel.endswith(".py") else None
    return INFO_CACHE[rel]


# ------------------------------------------------------------ insertion points
BAD_NEXT = ("else", "elif", "except", "finally", ")", "]", "}", "case ")
DICT_KEY = re.compile(r"""^["'][^"']+["']\s*:""")
UNDERLINE = re.compile(r"^([=\-~^*#+`'\"_.:])\1{2,}$")
SENT_END = (".", "!", "?", ".)", '."', ".*", ".``")
QUOTES = ('"' * 3, "'" * 3)
BULLET = re.compile(r"^(\s*[-*] )[A-Za-z`\[(]")
PROSE_START = re.compile(r"^[A-Za-z`\[(*_\"']")


def indent_of(s):
    return s[: len(s) - len(s.lstrip())]


def py_points(rel, s, e):
    """Return list of (k, kind, indent): insert before absolute line index k."""
    lines = LINES_CACHE[rel]
    info = get_info(rel)
    pts = []
    if info is None or not info.ok:
        return pts
    for k in range(s + 1, e):
        ln = k + 1
        cur = lines[k]
        prev = lines[k - 1]
        if not cur.strip():
            continue
        cs = cur.strip()
        ps = prev.strip()
        # docstring interior
        r1 = info.doc_range_of.get(ln)
        r0 = info.doc_range_of.get(ln - 1)
        if r1 and r0 and r1 == r0:
            a, b = r1
            body = lines[a - 1:b]
            if UNDERLINE.match(cs) or UNDERLINE.match(ps):
                continue
            if ps and cs and not ps.endswith(SENT_END + (":", ")", "`")) and not cs.startswith(QUOTES):
                continue  # do not split a wrapped sentence
            if cs.strip("\"'rbuRBU") and k + 1 != a:
                ind = indent_of(cur)
            elif ps and k != a:
                ind = indent_of(prev)
            else:
                ind = min((indent_of(x) for x in body[1:] if x.strip()), key=len, default=indent_of(cur))
            pts.append((k, "doc", ind))
            continue
        if ln in info.doc and ln not in info.stmt_start:
            continue
        if ln in info.stmt_start and ln not in info.doc:
            if cs.startswith(BAD_NEXT):
                continue
            pnb = k - 1
            while pnb > s and not lines[pnb].strip():
                pnb -= 1
            pp = lines[pnb].strip()
            if pp.startswith("@") or pp.endswith("\\"):
                continue
            only_comment = (cs.startswith("@") or (pnb + 1) in info.deco
                            or (cs.startswith("#") and pp.startswith("#")))
            pts.append((k, "comment" if only_comment else "code", indent_of(cur)))
        elif DICT_KEY.match(cs) and (ps.endswith(",") or ps.endswith("{")) and ln not in info.doc:
            pts.append((k, "dict", indent_of(cur)))
    return pts


def doc_points(rel, s, e):
    lines = LINES_CACHE[rel]
    # fence state from file start
    infence = False
    lang = ""
    state = []
    for k in range(0, e):
        t = lines[k].strip()
        if t.startswith("```") or t.startswith("~~~"):
            if not infence:
                infence, lang = True, t.strip("`~ ").lower()
                state.append(("open", lang))
            else:
                infence = False
                state.append(("close", lang))
        else:
            state.append(("in", lang) if infence else ("out", ""))
    pts = []
    for k in range(s + 1, e):
        st_prev, st_cur = state[k - 1], state[k]
        prev, cur = lines[k - 1], lines[k]
        if st_prev[0] in ("in", "open") and st_cur[0] in ("in", "close"):
            lg = st_prev[1]
            ind = indent_of(cur) if cur.strip() else indent_of(prev)
            if st_cur[0] == "close":
                ind = indent_of(prev) if st_prev[0] == "in" else ""
            ps, cs = prev.strip(), cur.strip()
            if DICT_KEY.match(cs) and (ps.endswith(",") or ps.endswith("{")):
                pts.append((k, "fence_dict", indent_of(cur)))
            else:
                pts.append((k, "fence_py" if lg in ("python", "py", "python3", "pycon") else "fence", ind))
            continue
        if st_prev[0] == "out" and st_cur[0] in ("out", "open"):
            ps = prev.strip()
            if UNDERLINE.match(cur.strip()) or UNDERLINE.match(ps):
                continue
            if (ps and PROSE_START.match(prev) and len(ps) > 30 and not ps.endswith(":")
                    and not prev.startswith((" ", "\t")) and "|" not in ps
                    and not re.match(r"^[A-Za-z-]+: ", prev)):
                if ps.endswith(SENT_END) and (
                        not cur.strip() or (PROSE_START.match(cur) and not cur.startswith((" ", "\t")))):
                    pts.append((k, "prose", ""))
            bm = BULLET.match(prev)
            bc = BULLET.match(cur)
            if bm and bc and bm.group(1) == bc.group(1) and len(prev.strip()) > 20:
                pts.append((k, "bullet", bc.group(1)))
    return pts


# position kind -> shape -> render(text, indent)
def render(pkind, shape, text, ind):
    if pkind == "prose":
        return text if shape == "sent" else None
    if pkind == "bullet":
        return ind + text if shape == "sent" else None
    if pkind == "doc":
        if shape in ("sent", "cfg", "log"):
            return ind + text
        return None
    if pkind == "code":
        if shape == "py":
            return ind + text
        if shape in ("sent", "cfg", "log"):
            return ind + "# " + text
        return None
    if pkind == "comment":
        return ind + "# " + text if shape in ("sent", "cfg", "log") else None
    if pkind == "dict" or pkind == "fence_dict":
        return ind + text if shape == "dict" else None
    if pkind == "fence_py":
        if shape == "py":
            return ind + text
        if shape in ("sent", "cfg", "log"):
            return ind + "# " + text
        return None
    if pkind == "fence":
        if shape in ("cfg", "log"):
            return ind + text
        return None
    return None


# ------------------------------------------------------------------------ build
def build():
    rng = random.Random(SEED)
    pools = {}
    for pkg in PACKAGES:
        files = list_files(pkg)
        rng.shuffle(files)
        bytype = collections.defaultdict(list)
        for rel in files:
            try:
                LINES_CACHE[rel] = read_lines(rel)
            except (UnicodeDecodeError, OSError):
                continue
            segs = segments_for_file(rel, LINES_CACHE[rel], rng)
            if not segs:
                continue
            info = get_info(rel)
            if rel.endswith(".py") and (info is None or not info.ok):
                # unparsable python: still usable for clean rows as "code"
                info = PyInfo([])
            rng.shuffle(segs)
            for (s, e) in segs[:4]:  # at most 4 windows per file, spread over files
                bytype[classify(rel, s, e, info)].append((rel, s, e))
        pools[pkg] = bytype

    # equal water-filling quotas, capped at 15%
    cap = {p: sum(len(v) for v in pools[p].values()) for p in PACKAGES}
    total = N_CLEAN + N_INS
    quota = {p: 0 for p in PACKAGES}
    remaining = total
    while remaining > 0:
        progressed = False
        for p in PACKAGES:
            if remaining and quota[p] < min(cap[p], CAP):
                quota[p] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            raise SystemExit("not enough segments")

    # pick per package with a type mix; duplicates of identical text removed
    seen_hash = set()
    chosen = []
    for p in PACKAGES:
        q = quota[p]
        want = {"doc_prose": round(0.36 * q), "docstring_comment": round(0.34 * q)}
        want["code"] = q - want["doc_prose"] - want["docstring_comment"]
        pick = []
        spare = []
        for t in ("doc_prose", "docstring_comment", "code"):
            cand = list(pools[p].get(t, []))
            rng.shuffle(cand)
            got = 0
            for c in cand:
                h = hashlib.sha1(jl(LINES_CACHE[c[0]][c[1]:c[2]]).encode()).hexdigest()
                if h in seen_hash:
                    continue
                if got < want[t]:
                    seen_hash.add(h)
                    pick.append((p, t) + c)
                    got += 1
                else:
                    spare.append((p, t) + c)
        rng.shuffle(spare)
        for c in spare:
            if len(pick) >= q:
                break
            h = hashlib.sha1(jl(LINES_CACHE[c[2]][c[3]:c[4]]).encode()).hexdigest()
            if h in seen_hash:
                continue
            seen_hash.add(h)
            pick.append(c)
        chosen.extend(pick[:q])
    assert len(chosen) == total, len(chosen)

    # split into clean / inserted: alternate within each package+type
    rng.shuffle(chosen)
    chosen.sort(key=lambda c: (c[0], c[1]))
    toggle = 0
    clean, ins = [], []
    for c in chosen:
        (clean if toggle % 2 == 0 else ins).append(c)
        toggle += 1
    # the alternation gives 300/300 because total is even and toggle is global
    assert len(clean) == N_CLEAN and len(ins) == N_INS

    # insertion: category-balanced greedy
    items = [dict(cat=c, shape=s, text=t, uses=0, idx=i) for i, (c, s, t) in enumerate(ITEMS)]
    target = {c: N_INS // 10 for c in sorted(set(i["cat"] for i in items))}
    done = collections.Counter()
    rows = []
    rng.shuffle(ins)
    leftovers = []

    def try_insert(c, cats_order):
        p, t, rel, s, e = c
        pts = py_points(rel, s, e) if rel.endswith(".py") else doc_points(rel, s, e)
        if not pts:
            return None
        rng.shuffle(pts)
        for cat in cats_order:
            cands = [it for it in items if it["cat"] == cat and it["uses"] < 2]
            rng.shuffle(cands)
            cands.sort(key=lambda it: it["uses"])
            for it in cands:
                for (k, pk, ind) in pts:
                    txt = render(pk, it["shape"], it["text"], ind)
                    if txt is None:
                        continue
                    r = fit(rel, s, e, k, txt)
                    if r is None:
                        continue
                    s2, e2 = r
                    lines = LINES_CACHE[rel]
                    text = jl(lines[s2:k] + [txt] + lines[k:e2])
                    it["uses"] += 1
                    SITES[(pk, it["shape"])] += 1
                    return dict(text=text, sensitive=True, category=cat, kind="long_inserted",
                                source=f"{rel}:{s2 + 1}", inserted=txt), t
        return None

    for c in ins:
        order = sorted(target, key=lambda cat: (done[cat] - target[cat], rng.random()))
        order = [cat for cat in order if done[cat] < target[cat]]
        res = try_insert(c, order)
        if res is None:
            leftovers.append(c)
            continue
        row, t = res
        done[row["category"]] += 1
        rows.append((row, t, c[0]))
    # swap leftovers with clean windows of the same package that accept an insertion
    for c in leftovers:
        swapped = False
        cand = [j for j, d in enumerate(clean) if d[0] == c[0] and d[1] == c[1]]
        cand += [j for j, d in enumerate(clean) if d[0] == c[0] and d[1] != c[1]]
        for j in cand:
            d = clean[j]
            order = sorted(target, key=lambda cat: (done[cat] - target[cat], rng.random()))
            order = [cat for cat in order if done[cat] < target[cat]]
            res = try_insert(d, order)
            if res is not None:
                row, t = res
                done[row["category"]] += 1
                rows.append((row, t, d[0]))
                clean[j] = c
                swapped = True
                break
        if not swapped:
            raise SystemExit(f"could not place insertion for {c}")

    for c in clean:
        p, t, rel, s, e = c
        text = jl(LINES_CACHE[rel][s:e])
        rows.append((dict(text=text, sensitive=False, category="none", kind="long_clean",
                          source=f"{rel}:{s + 1}"), t, p))

    rng.shuffle(rows)
    with open(OUT, "w", encoding="utf-8") as f:
        for row, _, _ in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    stats = dict(
        per_pkg=collections.Counter(p for _, _, p in rows),
        per_type=collections.Counter((r["kind"], t) for r, t, _ in rows),
        per_cat=collections.Counter(r["category"] for r, _, _ in rows),
        per_shape=collections.Counter(
            (next(i["shape"] for i in items if i["text"] in r["inserted"]), r["category"])
            for r, _, _ in rows if r["kind"] == "long_inserted"),
        item_uses=collections.Counter(i["uses"] for i in items),
        per_site=SITES,
    )
    with open(os.path.join(HERE, "long_e_stats.json"), "w") as f:
        json.dump({k: {str(kk): vv for kk, vv in v.items()} for k, v in stats.items()}, f, indent=1,
                  ensure_ascii=False)
    return stats


def fit(rel, s, e, k, txt):
    """Shrink [s,e) (keeping line k inside) so len(base)+len(txt)+1 in range."""
    lines = LINES_CACHE[rel]

    def size(a, b):
        return len(jl(lines[a:b])) + len(txt) + 1

    a, b = s, e
    while size(a, b) > MAXL:
        # drop from the side farther from the insertion point
        if (b - k) >= (k - a) and b - 1 > k:
            b -= 1
        elif a < k - 1:
            a += 1
        elif b - 1 > k:
            b -= 1
        else:
            return None
    if size(a, b) < MINL:
        return None
    if not (a < k < b):
        return None
    return a, b


# ------------------------------------------------------------------------ check
def luhn_ok(num):
    s = 0
    for i, ch in enumerate(reversed(num)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


def iban_ok(iban):
    r = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in r)) % 97 == 1


def check():
    errs = []
    rows = [json.loads(l) for l in open(OUT, encoding="utf-8")]
    kinds = collections.Counter(r["kind"] for r in rows)
    if len(rows) != 600 or kinds["long_clean"] != N_CLEAN or kinds["long_inserted"] != N_INS:
        errs.append(f"counts {len(rows)} {kinds}")
    spans = collections.defaultdict(list)
    pkgs = collections.Counter()
    texts = set()
    ins_uses = collections.Counter()
    cats = collections.Counter()
    valid_cats = {"contact", "identification", "financial", "authentication", "health",
                  "location_network", "account_profile", "device_incident", "media_content", "ancillary"}
    item_texts = [t for _, _, t in ITEMS]
    if len(set(item_texts)) != len(item_texts):
        errs.append("duplicate hand-written items")
    for n, r in enumerate(rows):
        keys = {"text", "sensitive", "category", "kind", "source"}
        if r["kind"] == "long_inserted":
            keys = keys | {"inserted"}
        if set(r) != keys:
            errs.append(f"row {n}: keys {sorted(r)}")
            continue
        t = r["text"]
        if not (MINL <= len(t) <= MAXL):
            errs.append(f"row {n}: length {len(t)}")
        if t in texts:
            errs.append(f"row {n}: duplicate text")
        texts.add(t)
        rel, first = r["source"].rsplit(":", 1)
        first = int(first)
        top = rel.split("/")[0]
        pkgs[DIST2PKG.get(top, top)] += 1
        flines = read_lines(rel)
        tl = t.split("\n")
        if r["kind"] == "long_clean":
            if r["sensitive"] is not False or r["category"] != "none":
                errs.append(f"row {n}: clean labels")
            base = tl
        else:
            ins = r["inserted"]
            il = ins.split("\n")
            if r["sensitive"] is not True or r["category"] not in valid_cats:
                errs.append(f"row {n}: inserted labels")
            if t.count(ins) != 1:
                errs.append(f"row {n}: inserted occurs {t.count(ins)}x")
            pos = [i for i in range(len(tl)) if tl[i:i + len(il)] == il]
            if len(pos) != 1:
                errs.append(f"row {n}: inserted not at a unique line boundary")
                continue
            base = tl[:pos[0]] + tl[pos[0] + len(il):]
            core = ins.strip()
            for pfx in ("# ", "- ", "* "):
                if core.startswith(pfx) and core not in [it[2] for it in ITEMS]:
                    core = core[len(pfx):]
            src_item = [it for it in ITEMS if it[2] == core]
            if len(src_item) != 1 or src_item[0][0] != r["category"]:
                errs.append(f"row {n}: inserted text is not exactly one hand-written item")
            ins_uses[core] += 1
            cats[r["category"]] += 1
            if r["category"] == "financial":
                for m in re.findall(r"(?<![A-Za-z\d.])\d{13,19}(?![A-Za-z\d.])", core):
                    if not luhn_ok(m):
                        errs.append(f"row {n}: Luhn fails {m}")
                for m in re.findall(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", core):
                    if not iban_ok(m):
                        errs.append(f"row {n}: IBAN fails {m}")
        if flines[first - 1:first - 1 + len(base)] != base:
            errs.append(f"row {n}: base is not an unmodified line slice of {rel}:{first}")
        else:
            spans[rel].append((first - 1, first - 1 + len(base), n))
    for rel, sp in spans.items():
        sp.sort()
        for (a1, b1, n1), (a2, b2, n2) in zip(sp, sp[1:]):
            if a2 < b1:
                errs.append(f"overlap {rel} rows {n1},{n2}")
    for core, u in ins_uses.items():
        if u > 2:
            errs.append(f"item used {u}x: {core[:40]}")
    biggest = max(pkgs.values())
    if biggest > CAP:
        errs.append(f"package share {pkgs.most_common(1)}")
    # every financial card/IBAN literal in the item list
    for c, _, txt in ITEMS:
        if c == "financial":
            for m in re.findall(r"(?<![A-Za-z\d.])\d{13,19}(?![A-Za-z\d.])", txt):
                if not luhn_ok(m):
                    errs.append(f"item Luhn fails {m}")
            for m in re.findall(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", txt):
                if not iban_ok(m):
                    errs.append(f"item IBAN fails {m}")
    print(f"rows={len(rows)} kinds={dict(kinds)} distinct_items_used={len(ins_uses)} "
          f"hand_items={len(ITEMS)} max_pkg={pkgs.most_common(1)}")
    print("categories:", dict(sorted(cats.items())))
    print("packages:", dict(sorted(pkgs.items())))
    if errs:
        print(f"{len(errs)} ERRORS")
        for e in errs[:50]:
            print("  ", e)
        return 1
    print("CHECK OK")
    return 0


if __name__ == "__main__":
    if "--check" not in sys.argv:
        st = build()
        print("per_type:", dict(st["per_type"]))
        print("item use histogram:", dict(st["item_uses"]))
    sys.exit(check())
