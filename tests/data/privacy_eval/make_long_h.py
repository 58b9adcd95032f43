#!/root/.pyenv/versions/3.11.7/bin/python
"""Deterministic builder for the blind held-out set long_h (see README-long_h.md).
Usage: make_long_h.py          -> writes long_h.jsonl and long_h_stats.json
       make_long_h.py --check  -> validates long_h.jsonl
"""
import ast, collections, io, json, os, random, re, sys, tokenize
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from items_h import ITEMS

SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "long_h.jsonl")
STATS = OUT.replace(".jsonl", "_stats.json")
ROOTS = {"h": "/usr/include", "py": "/usr/lib/python3/dist-packages"}
LO, HI = 1300, 1700
CAP = 48            # 8% of 600 rows per top-level dir / library / package
PER_FILE = 4
CATS = ["contact", "identification", "financial", "authentication", "health",
        "location_network", "account_profile", "device_incident", "media_content", "ancillary"]
DOC_NAMES = ("PKG-INFO", "METADATA")
DOC_EXT = (".md", ".rst", ".txt")
H_EXT = (".h", ".hh", ".hpp", ".hxx", ".tcc", ".inl")


def list_files(kind):
    root = ROOTS[kind]
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__" and "site-packages" not in x)
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            rel = os.path.relpath(p, root)
            if kind == "h":
                ok = f.endswith(H_EXT) or (rel.startswith("c++/") and "." not in f)
            else:
                ok = f.endswith(".py") or f.endswith(DOC_EXT) or f in DOC_NAMES
            if ok:
                out.append(rel)
    return out


def group_of(kind, rel):
    top = rel.split("/")[0]
    if "/" not in rel:
        return ("h:(toplevel)" if kind == "h" else "py:" + rel.split(".")[0])
    if kind == "py":
        top = re.split(r"[-.]\d", top)[0].split(".egg-info")[0].split(".dist-info")[0]
        top = {"PyYAML": "yaml", "PyJWT": "jwt", "Pygments": "pygments", "pyOpenSSL": "OpenSSL",
               "python_apt": "apt", "dbus_python": "dbus", "PyGObject": "gi",
               "lazr.restfulclient": "lazr", "lazr.uri": "lazr"}.get(top, top)
    return kind + ":" + top


def read_lines(kind, rel):
    try:
        with open(os.path.join(ROOTS[kind], rel), encoding="utf-8", newline="") as fh:
            s = fh.read()
    except (UnicodeDecodeError, OSError):
        return None
    if "\x00" in s or "\r" in s:
        return None
    return s.splitlines(keepends=True)


def windows(lines):
    """All non-overlapping windows of whole lines, 1300-1700 chars, scanning from the top."""
    res, i, n = [], 0, len(lines)
    while i < n:
        j, tot = i, 0
        while j < n and tot < LO:
            tot += len(lines[j]); j += 1
        if tot < LO:
            break
        if tot <= HI:
            res.append((i, j)); i = j
        else:
            i += 1
    return res


def file_type(kind, rel):
    if kind == "py" and not rel.endswith(".py"):
        return "prose"
    return "src"


# ---------- comment/docstring line maps (for chunk-type stats and site rendering) ----------
def py_string_lines(src):
    """1-based line numbers strictly inside a multi-line string token (safe text lines)."""
    inside, comment = set(), set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
                inside.add(tok.start[0])
            elif tok.type == tokenize.COMMENT:
                comment.add(tok.start[0])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None, None
    return inside, comment


def c_comment_lines(lines):
    """0-based indices of lines that start inside a /* */ block, and comment-ish lines."""
    starts_inside, commentish = set(), set()
    state = False
    for idx, ln in enumerate(lines):
        if state:
            starts_inside.add(idx)
        s = ln.strip()
        if state or s.startswith("/*") or s.startswith("//") or s.startswith("*"):
            commentish.add(idx)
        k = 0
        while k < len(ln):
            if not state and ln.startswith("//", k):
                break
            if not state and ln.startswith("/*", k):
                state = True; k += 2; continue
            if state and ln.startswith("*/", k):
                state = False; k += 2; continue
            k += 1
    return starts_inside, commentish


def chunk_type(kind, rel, lines, a, b, cache):
    if file_type(kind, rel) == "prose":
        return "prose_doc"
    tot = sum(len(lines[i]) for i in range(a, b)) or 1
    if kind == "py":
        inside, comment = cache["pymaps"]
        if inside is None:
            return "code"
        com = sum(len(lines[i]) for i in range(a, b)
                  if (i + 1) in inside or (i + 1) in comment or lines[i].lstrip().startswith("#"))
    else:
        com = sum(len(lines[i]) for i in range(a, b) if i in cache["cmaps"][1])
    return "doc_comment" if com / tot >= 0.5 else "code"


# ---------- rendering ----------
def ident(key, upper):
    k = re.sub(r"[^A-Za-z0-9_]", "_", key)
    return k.upper() if upper else k.lower()


def indent_of(s):
    return s[: len(s) - len(s.lstrip(" \t"))] if s.strip() else ""


def as_text(item):
    form, p = item[1], item[2]
    return p if form == "prose" else "%s: %s" % p


def render_py(lines, k, item, maps, rng):
    inside, comment = maps
    prev, nxt = lines[k - 1], lines[k]
    ind = indent_of(nxt) or indent_of(prev)
    if inside is not None and (k + 1) in inside and (k + 1) - 1 in inside | set([k]):
        # line k (0-based) i.e. file line k+1 sits inside a multi-line string
        if k in inside:  # previous file line also inside / starting the string
            return [ind + as_text(item) + "\n"]
    cands = []
    if item[1] == "kv":
        key, val = item[2]
        if re.match(r"""\s*["'][\w.-]+["']\s*:""", nxt) and prev.rstrip().endswith((",", "{")):
            cands.append(ind + '%s: %s,\n' % (json.dumps(key), json.dumps(val)))
        cands.append(ind + "%s = %s\n" % (ident(key, ind == ""), json.dumps(val)))
        cands.append(ind + "# %s=%s\n" % (ident(key, True), val))
    else:
        cands.append(ind + "# " + item[2] + "\n")
    return cands


def render_c(lines, k, item, cmaps, rng):
    prev, nxt = lines[k - 1], lines[k]
    if prev.rstrip().endswith("\\"):
        return []
    if k in cmaps[0]:  # inside a block comment
        ref = nxt if nxt.strip() else prev
        m = re.match(r"^([ \t]*\*+[ \t]?)(?!/)", ref)
        pre = m.group(1) if m else indent_of(ref)
        if not pre.endswith(" ") and m:
            pre += " "
        return [pre + as_text(item) + "\n"]
    ind = indent_of(nxt) or indent_of(prev)
    if item[1] == "kv":
        key, val = item[2]
        v = json.dumps(val)
        opts = ['#define %s %s\n' % (ident(key, True), v),
                ind + 'static const char *%s = %s;\n' % (ident(key, False), v),
                ind + '/* %s = %s */\n' % (key, val)]
        return [opts[rng.randrange(3)]]
    opts = [ind + "/* " + item[2] + " */\n", ind + "// " + item[2] + "\n"]
    return [opts[rng.randrange(2)]]


def render_doc(lines, k, item, rng):
    prev, nxt = lines[k - 1], lines[k]
    fences = sum(1 for ln in lines[:k] if ln.lstrip().startswith("```"))
    in_fence = fences % 2 == 1
    literal = prev.strip() and nxt.strip() and indent_of(prev) and indent_of(nxt) and \
        not prev.lstrip().startswith(("-", "*")) and not prev.rstrip().endswith(".")
    ind = indent_of(nxt) or indent_of(prev)
    if in_fence or literal:
        if item[1] == "kv":
            key, val = item[2]
            return [ind + "export %s=%s\n" % (ident(key, True), json.dumps(val))]
        return [ind + "# " + item[2] + "\n"]
    bullet = re.match(r"^(\s*[-*+]\s+)", nxt) or re.match(r"^(\s*[-*+]\s+)", prev)
    if bullet:
        return [bullet.group(1) + as_text(item) + "\n"]
    if item[1] == "kv":
        key, val = item[2]
        if not prev.strip():
            return ["```\n%s=%s\n```\n\n" % (ident(key, True), val)]
        return ["%s``%s``: %s\n" % (ind, key, val)]
    if not prev.strip():
        return [ind + item[2] + "\n\n"]
    return [ind + item[2] + "\n"]


def py_parses(src):
    try:
        ast.parse(src)
        return True
    except (SyntaxError, ValueError):
        return False


def try_insert(kind, rel, lines, a, b, item, cache, rng):
    """Return (start, end, pos_line, inserted) or None."""
    ks = list(range(a + 1, b))
    rng.shuffle(ks)
    ftype = file_type(kind, rel)
    for k in ks[:25]:
        if kind == "py" and ftype == "prose":
            cands = render_doc(lines, k, item, rng)
        elif kind == "py":
            cands = render_py(lines, k, item, cache["pymaps"], rng)
        else:
            cands = render_c(lines, k, item, cache["cmaps"], rng)
        for ins in cands:
            if kind == "py" and ftype == "src" and cache["parses"]:
                if not py_parses("".join(lines[:k]) + ins + "".join(lines[k:])):
                    continue
            # trim the slice (from the end, then the start) to keep the total in range
            s, e = a, b
            tot = lambda: sum(len(lines[i]) for i in range(s, e)) + len(ins)
            while tot() > HI and e - 1 > k:
                e -= 1
            while tot() > HI and s + 1 < k:
                s += 1
            if LO <= tot() <= HI and s < k < e:
                return s, e, k, ins
    return None


def build():
    rng = random.Random(SEED)
    rows, stats_src = [], collections.Counter()
    seen = set()
    group_count = collections.Counter()
    # category schedule for inserted rows: 30 per category, interleaved
    sched = {}
    for kind in ("h", "py"):
        cats = [c for c in CATS for _ in range(15)]
        rng.shuffle(cats)
        sched[kind] = cats
    by_cat = collections.defaultdict(list)
    for it in ITEMS:
        by_cat[it[0]].append(it)
    for c in by_cat:
        rng.shuffle(by_cat[c])
    cat_ptr = collections.Counter()
    for kind in ("h", "py"):
        files = list_files(kind)
        rng.shuffle(files)
        if kind == "py":  # prose docs first so that every doc window is available
            files.sort(key=lambda r: 0 if file_type(kind, r) == "prose" else 1)
        need = {"clean": 150, "ins": 150}
        for rel in files:
            if need["clean"] == 0 and need["ins"] == 0:
                break
            g = group_of(kind, rel)
            if group_count[g] >= CAP:
                continue
            lines = read_lines(kind, rel)
            if not lines:
                continue
            wins = windows(lines)
            if not wins:
                continue
            rng.shuffle(wins)
            wins = wins[:PER_FILE]
            src = "".join(lines)
            cache = {}
            if kind == "py":
                cache["pymaps"] = py_string_lines(src) if rel.endswith(".py") else (None, None)
                cache["parses"] = rel.endswith(".py") and py_parses(src)
            else:
                cache["cmaps"] = c_comment_lines(lines)
            for (a, b) in sorted(wins):
                if group_count[g] >= CAP:
                    break
                choices = [x for x in ("clean", "ins") if need[x] > 0]
                if not choices:
                    break
                which = rng.choice(choices)
                if which == "clean":
                    text = "".join(lines[a:b])
                    if text in seen:
                        continue
                    row = {"text": text, "sensitive": False, "category": "none",
                           "kind": "long_clean", "source": "%s:%d" % (rel, a + 1)}
                    s = a; e = b
                else:
                    cat = sched[kind][150 - need["ins"]]
                    pool = by_cat[cat]
                    item = pool[cat_ptr[cat] % len(pool)]
                    r = try_insert(kind, rel, lines, a, b, item, cache, rng)
                    if r is None:
                        continue
                    s, e, k, ins = r
                    text = "".join(lines[s:k]) + ins + "".join(lines[k:e])
                    if text in seen:
                        continue
                    cat_ptr[cat] += 1
                    row = {"text": text, "sensitive": True, "category": cat,
                           "kind": "long_inserted", "source": "%s:%d" % (rel, s + 1),
                           "inserted": ins}
                seen.add(text)
                need[which] -= 1
                group_count[g] += 1
                row["_stat"] = (kind, g, chunk_type(kind, rel, lines, s, e, cache))
                rows.append(row)
        assert need["clean"] == 0 and need["ins"] == 0, (kind, need)
    rng.shuffle(rows)
    st = {"rows": len(rows), "by_root": collections.Counter(), "by_group": collections.Counter(),
          "by_chunk_type": collections.Counter(), "by_category": collections.Counter(),
          "by_chunk_type_and_label": collections.Counter(), "distinct_items_used": 0,
          "items_written": len(ITEMS)}
    used = set()
    for r in rows:
        kind, g, ct = r.pop("_stat")
        st["by_root"][ROOTS[kind]] += 1
        st["by_group"][g] += 1
        st["by_chunk_type"][ct] += 1
        st["by_category"][r["category"]] += 1
        st["by_chunk_type_and_label"][ct + "/" + r["kind"]] += 1
        if r["sensitive"]:
            used.add(r["inserted"].strip())
    st["distinct_inserted_texts"] = len(used)
    st = {k: (dict(sorted(v.items())) if isinstance(v, collections.Counter) else v) for k, v in st.items()}
    with open(OUT, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(STATS, "w", encoding="utf-8") as fh:
        json.dump(st, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print("wrote", len(rows), "rows")


# ---------- checks ----------
def luhn(d):
    t = 0
    for i, c in enumerate(reversed(d)):
        n = int(c)
        if i % 2:
            n *= 2
            n -= 9 if n > 9 else 0
        t += n
    return t % 10 == 0


def mod97(s):
    s = s.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def check():
    errs = []
    rows = [json.loads(l) for l in open(OUT, encoding="utf-8")]
    if len(rows) != 600:
        errs.append("row count %d" % len(rows))
    cnt = collections.Counter((r["kind"], r["category"]) for r in rows)
    if sum(v for (k, c), v in cnt.items() if k == "long_clean" and c == "none") != 300:
        errs.append("clean count")
    for c in CATS:
        if cnt[("long_inserted", c)] != 30:
            errs.append("category %s has %d" % (c, cnt[("long_inserted", c)]))
    texts, spans = set(), collections.defaultdict(list)
    groups = collections.Counter()
    for n, r in enumerate(rows):
        keys = {"text", "sensitive", "category", "kind", "source"} | ({"inserted"} if r.get("sensitive") else set())
        if set(r) != keys:
            errs.append("row %d keys %s" % (n, sorted(r)))
        if r["sensitive"] != (r["kind"] == "long_inserted") or (r["category"] == "none") == r["sensitive"]:
            errs.append("row %d label mismatch" % n)
        if not (LO <= len(r["text"]) <= HI):
            errs.append("row %d length %d" % (n, len(r["text"])))
        if r["text"] in texts:
            errs.append("row %d duplicate text" % n)
        texts.add(r["text"])
        rel, line = r["source"].rsplit(":", 1)
        line = int(line)
        hits = [k for k in ROOTS if os.path.isfile(os.path.join(ROOTS[k], rel))]
        if len(hits) != 1:
            errs.append("row %d source ambiguous/missing" % n); continue
        kind = hits[0]
        groups[group_of(kind, rel)] += 1
        lines = read_lines(kind, rel)
        base = r["text"]
        if r["sensitive"]:
            ins = r["inserted"]
            p = base.find(ins)
            if p <= 0 or base.count(ins) != 1 or base[p - 1] != "\n" or p + len(ins) >= len(base):
                errs.append("row %d insertion not interior/unique" % n); continue
            base = base[:p] + base[p + len(ins):]
            if rel.endswith(".py"):
                k = base[:p].count("\n") + line - 1
                full = "".join(lines)
                if py_parses(full) and not py_parses("".join(lines[:k]) + ins + "".join(lines[k:])):
                    errs.append("row %d python no longer parses" % n)
        nl = base.count("\n") if base.endswith("\n") else base.count("\n") + 1
        if "".join(lines[line - 1: line - 1 + nl]) != base:
            errs.append("row %d slice mismatch" % n)
        spans[rel].append((line, line + nl))
    for rel, sp in spans.items():
        if len(sp) > PER_FILE:
            errs.append("%s has %d windows" % (rel, len(sp)))
        sp.sort()
        for (a1, b1), (a2, b2) in zip(sp, sp[1:]):
            if a2 < b1:
                errs.append("overlap in %s" % rel)
    for g, v in groups.items():
        if v > CAP:
            errs.append("group %s has %d rows" % (g, v))
    # item validity: Luhn for card-like numbers, mod-97 for IBAN-like strings
    for it in ITEMS:
        t = as_text(it)
        for m in re.finditer(r"\b(?:\d[ -]?){13,19}\b", t):
            d = re.sub(r"\D", "", m.group(0))
            if it[0] == "financial" and re.search(r"card|visa|mastercard|amex|cvv|exp", t, re.I) and not luhn(d):
                errs.append("Luhn fails: %s" % m.group(0))
        for m in re.finditer(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", t):
            if not mod97(m.group(0)):
                errs.append("mod-97 fails: %s" % m.group(0))
    if len(set(map(str, ITEMS))) != len(ITEMS):
        errs.append("duplicate items")
    print("\n".join(errs) if errs else "OK: 600 rows, all checks passed")
    return not errs


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if check() else 1)
    build()
