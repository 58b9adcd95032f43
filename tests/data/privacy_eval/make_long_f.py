#!/root/.pyenv/versions/3.11.7/bin/python
"""Deterministic builder for the blind held-out set long_f (long developer content).

Usage:
    python make_long_f.py          # build long_f.jsonl and long_f_stats.json
    python make_long_f.py --check  # validate an existing long_f.jsonl

Standard library only.  node (if present) is used only to syntax-check JS files
after an insertion (`node --check`).
"""
import ast
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from items_f import ITEMS, CATEGORIES  # noqa: E402

SEED = 61_2024
PY_ROOT = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
NPM_ROOT = Path("/usr/lib/node_modules/npm")
OUT = HERE / "long_f.jsonl"
STATS = HERE / "long_f_stats.json"

N_TOTAL = 600
N_PY = 360
N_NPM = 240
CAP = 48                # 8% of 600 per top-level module / package
MAX_PER_FILE = 4
MIN_LEN, MAX_LEN = 1300, 1700
BLOCK_CHARS = 2300      # files are cut into disjoint blocks; one window per block
PER_CAT = 30
PY_DOC_TARGET = 40      # as many as the (few) CPython prose files allow
NPM_DOC_TARGET = 150
COMMENT_HEAVY = 0.40    # share of comment/docstring chars that makes a code window "doc_comment_heavy"

DOC_EXT = {".md", ".rst", ".txt"}
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else None


# ---------------------------------------------------------------- file discovery
def py_files():
    out = []
    skip_dirs = {"site-packages", "test", "tests", "idle_test", "__pycache__", "Icons",
                 "lib-dynload", "config-3.11-x86_64-linux-gnu"}
    for dp, dns, fns in os.walk(PY_ROOT):
        dns[:] = sorted(d for d in dns if d not in skip_dirs and not d.startswith("config-"))
        for fn in sorted(fns):
            ext = os.path.splitext(fn)[1]
            if ext not in {".py"} | DOC_EXT:
                continue
            if fn.upper().startswith("LICENSE"):
                continue
            out.append(Path(dp, fn))
    return out


def npm_files():
    out = []
    for dp, dns, fns in os.walk(NPM_ROOT):
        rel = Path(dp).relative_to(NPM_ROOT)
        dns[:] = sorted(d for d in dns if not (rel == Path(".") and d == "man"))
        for fn in sorted(fns):
            ext = os.path.splitext(fn)[1]
            if ext not in {".js", ".md"}:
                continue
            if fn.upper().startswith("LICENSE"):
                continue
            out.append(Path(dp, fn))
    return out


def module_of(src, rel):
    parts = rel.split("/")
    if src == "cpython":
        return parts[0][:-3] if parts[0].endswith(".py") and len(parts) == 1 else parts[0]
    if parts[0] == "node_modules":
        return parts[1] + "/" + parts[2] if parts[1].startswith("@") else parts[1]
    return "npm"


def read_text(path):
    data = path.read_bytes()
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text):
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def resolve(rel):
    """Source paths are relative to one of the two roots; return the absolute path."""
    hits = [r / rel for r in (PY_ROOT, NPM_ROOT) if (r / rel).is_file()]
    if len(hits) != 1:
        raise ValueError("ambiguous or missing source %r" % rel)
    return hits[0]


def root_name(path):
    return "cpython" if str(path).startswith(str(PY_ROOT)) else "npm"


# ---------------------------------------------------------------- windows
def file_blocks(lines, rng):
    """Disjoint blocks of consecutive lines, starting at a seeded offset."""
    off = rng.randrange(0, min(40, max(1, len(lines) // 4)) + 1)
    blocks, i = [], off
    while i < len(lines):
        j, n = i, 0
        while j < len(lines) and n < BLOCK_CHARS:
            n += len(lines[j])
            j += 1
        if n >= MIN_LEN + 100:
            blocks.append((i, j))
        i = j
    return blocks


def window_in(lines, bs, be, target=MIN_LEN):
    """First window [s, t) inside block, grown to >= target, with MIN_LEN <= len <= MAX_LEN."""
    for s in range(bs, be):
        n, t = 0, s
        while t < be and n < target:
            n += len(lines[t])
            t += 1
        if MIN_LEN <= n <= MAX_LEN:
            return s, t
    return None


# ---------------------------------------------------------------- chunk type
_share_cache = {}


def per_line_comment_chars(path, text, lines):
    """Characters per line that belong to comments or triple-quoted strings (whole-file view)."""
    if path in _share_cache:
        return _share_cache[path]
    cnt = [0] * (len(lines) + 1)
    if path.endswith(".py"):
        try:
            toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            toks = []
        for tok in toks:
            if tok.type == tokenize.COMMENT:
                cnt[tok.start[0] - 1] += len(tok.string)
            elif tok.type == tokenize.STRING and tok.string.endswith(('"""', "'''")):
                for row in range(tok.start[0], tok.end[0] + 1):
                    ln = lines[row - 1]
                    a = tok.start[1] if row == tok.start[0] else 0
                    b = tok.end[1] if row == tok.end[0] else len(ln)
                    cnt[row - 1] += max(0, b - a)
    else:
        inblock = False
        for i, ln in enumerate(lines):
            st = ln.strip()
            if inblock:
                cnt[i] = len(ln)
                if "*/" in st:
                    inblock = False
            elif st.startswith("/*"):
                cnt[i] = len(ln)
                inblock = "*/" not in st[2:]
            elif st.startswith("//"):
                cnt[i] = len(ln)
            elif "//" in ln and not re.search(r"['\"`/].*//", ln):
                cnt[i] = len(ln) - ln.index("//")
    _share_cache[path] = cnt
    return cnt


def chunk_type(rel, path, text, lines, s, t):
    ext = os.path.splitext(rel)[1]
    if ext in DOC_EXT:
        return "prose_doc"
    cnt = per_line_comment_chars(path, text, lines)
    share = sum(cnt[s:t]) / max(1, sum(len(x) for x in lines[s:t]))
    return "doc_comment_heavy" if share >= COMMENT_HEAVY else "code"


# ---------------------------------------------------------------- rendering helpers
def lead(s):
    return s[: len(s) - len(s.lstrip(" \t"))]


def wrap(text, indent, prefix, width=79):
    w = max(48, width - len(indent) - len(prefix))
    return "".join(indent + prefix + ln + "\n" for ln in textwrap.wrap(text, w))


def item_text(item):
    """Plain one-line text of an item (used in comments / docstrings / prose)."""
    cat, form, val = item
    if form == "kv":
        return "%s: %s" % val
    return val


def env_line(key, value):
    v = value if re.fullmatch(r"[^\s'\"#$]+", value) else '"%s"' % value.replace('"', "'")
    return "%s=%s" % (key.upper(), v)


def yaml_line(key, value):
    v = value if re.fullmatch(r"[A-Za-z0-9@._+/-][^:#]*", value) and ": " not in value else json.dumps(value, ensure_ascii=False)
    return "%s: %s" % (key, v)


def safe_for(text, kind):
    if kind == "js_comment" and "*/" in text:
        return False
    if "\\" in text:
        return False
    return True


# ---------------------------------------------------------------- syntax checks
_node_mode = {}


def node_ok(text, ext):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "x" + ext)
        p.write_text(text, encoding="utf-8")
        r = subprocess.run([NODE, "--check", str(p)], capture_output=True)
        return r.returncode == 0


def js_mode(path, text):
    if path not in _node_mode:
        mode = None
        if NODE:
            for ext in (".cjs", ".mjs"):
                if node_ok(text, ext):
                    mode = ext
                    break
        _node_mode[path] = mode
    return _node_mode[path]


def py_parses(text):
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


# ---------------------------------------------------------------- Python sites
_py_cache = {}


def py_info(path, text):
    """Per boundary (0-based index k = insert before line k) facts from tokenize."""
    if path in _py_cache:
        return _py_cache[path]
    lines = split_lines(text)
    nl = len(lines)
    in_str = [None] * (nl + 1)      # string token prefix if boundary k is inside a multi-line string
    depth_at = [0] * (nl + 1)
    stmt_ok = [False] * (nl + 1)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        toks = None
    if toks is None:
        _py_cache[path] = None
        return None
    depth = 0
    last_sig = tokenize.NEWLINE
    ti = 0
    # walk boundaries in order; boundary k is between line k-1 and k (1-based rows k and k+1)
    events = sorted(((t.start[0], t) for t in toks), key=lambda x: (x[0], x[1].start[1]))
    ei = 0
    for k in range(nl + 1):
        # consume all tokens that start on rows <= k (1-based rows 1..k are lines 0..k-1)
        while ei < len(events) and events[ei][0] <= k:
            t = events[ei][1]
            if t.type == tokenize.OP and t.string in "([{":
                depth += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                depth -= 1
            if t.type not in (tokenize.NL, tokenize.COMMENT):
                last_sig = t.type
            ei += 1
        depth_at[k] = depth
        stmt_ok[k] = depth == 0 and last_sig in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    for t in toks:
        if t.type == tokenize.STRING and t.end[0] > t.start[0]:
            m = re.match(r"[A-Za-z]*", t.string)
            for k in range(t.start[0], t.end[0]):
                in_str[k] = m.group(0).lower() if m else ""
            for k in range(t.start[0], t.end[0]):
                stmt_ok[k] = False
    info = (in_str, depth_at, stmt_ok)
    _py_cache[path] = info
    return info


DICT_MEMBER = re.compile(r"""^\s*(['"])[^'"]+\1\s*:\s*\S.*,\s*(#.*)?$""")


def py_render(item, lines, k, info, rng):
    """Return (inserted_text, site) or None for boundary k in a Python file."""
    in_str, depth_at, stmt_ok = info
    cat, form, val = item
    nxt = next((lines[j] for j in range(k, len(lines)) if lines[j].strip()), "")
    prv = lines[k - 1]
    if in_str[k] is not None:
        if "f" in in_str[k] or "b" in in_str[k]:
            return None
        ind = lead(lines[k]) if lines[k].strip() else lead(prv)
        if form == "prose":
            return wrap(val, ind, ""), "py_docstring_line"
        return ind + item_text(item) + "\n", "py_docstring_line"
    ind = lead(nxt)
    if nxt.strip()[:1] in (")", "]", "}"):
        ind = lead(prv) if prv.strip() else ind
    if depth_at[k] > 0:
        if form == "kv" and DICT_MEMBER.match(prv) and (DICT_MEMBER.match(lines[k]) or lines[k].strip()[:1] in "}"):
            ind = lead(prv)
            return ind + "%s: %s,\n" % (json.dumps(val[0]), json.dumps(val[1], ensure_ascii=False)), "py_dict_member"
        return comment_py(item, ind), "py_comment"
    if stmt_ok[k] and form == "kv" and rng.random() < 0.75:
        return ind + "%s = %s\n" % (val[0], json.dumps(val[1], ensure_ascii=False)), "py_assignment"
    if stmt_ok[k] and form == "line" and rng.random() < 0.25:
        return ind + "_note = %s\n" % json.dumps(val, ensure_ascii=False), "py_assignment"
    return comment_py(item, ind), "py_comment"


def comment_py(item, ind):
    cat, form, val = item
    if form == "prose":
        return wrap(val, ind, "# ")
    if form == "kv":
        return ind + "# %s = %s\n" % val
    return ind + (val if val.startswith("# ") else "# " + val) + "\n"


# ---------------------------------------------------------------- JS sites
JS_MEMBER = re.compile(r"""^\s*(['"]?)[\w$@./-]+\1\s*:\s*\S.*,\s*$""")


def js_comment_state(lines):
    """inblock[k]: boundary k lies inside a /* */ comment."""
    inblock = [False] * (len(lines) + 1)
    state = False
    for i, ln in enumerate(lines):
        inblock[i] = state
        s = ln
        while True:
            if state:
                j = s.find("*/")
                if j < 0:
                    break
                state = False
                s = s[j + 2:]
            else:
                j = s.find("/*")
                if j < 0 or "//" in s[:j] or s[:j].count("'") % 2 or s[:j].count('"') % 2:
                    break
                state = True
                s = s[j + 2:]
    inblock[len(lines)] = state
    return inblock


def js_render(item, lines, k, inblock, rng, checkable):
    cat, form, val = item
    prv, cur = lines[k - 1], lines[k]
    text1 = item_text(item)
    if inblock[k]:
        if not safe_for(text1, "js_comment"):
            return None
        m = re.match(r"^(\s*\*)", cur) or re.match(r"^(\s*\*)", prv)
        pre = (m.group(1) + " ") if m else lead(cur)
        if form == "prose":
            return wrap(val, "", pre), "js_jsdoc_line"
        return pre + text1 + "\n", "js_jsdoc_line"
    if "".join(lines[:k]).count("`") % 2:
        return None  # probably inside a template literal
    nxt = next((lines[j] for j in range(k, len(lines)) if lines[j].strip()), "")
    ind = lead(nxt)
    if nxt.strip()[:1] in (")", "]", "}"):
        ind = lead(prv) if prv.strip() else ind
    if checkable and form == "kv":
        if JS_MEMBER.match(prv) and (JS_MEMBER.match(cur) or cur.strip()[:1] == "}"):
            q = "'" if "'" in prv and '"' not in prv else '"'
            v = val[1].replace(q, "")
            return lead(prv) + "%s%s%s: %s%s%s,\n" % (q, val[0], q, q, v, q), "js_object_member"
        if prv.rstrip().endswith((";", "}", "{")) and rng.random() < 0.75:
            semi = ";" if prv.rstrip().endswith(";") else ""
            return ind + "const %s = %s%s\n" % (val[0], json.dumps(val[1], ensure_ascii=False), semi), "js_statement"
    if not safe_for(text1, "js_comment"):
        return None
    if form == "prose":
        return wrap(val, ind, "// "), "js_comment"
    if form == "kv":
        return ind + "// %s = %s\n" % val, "js_comment"
    return ind + "// " + (val[2:] if val.startswith("# ") else val) + "\n", "js_comment"


# ---------------------------------------------------------------- prose sites
LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+\S")


def md_state(lines):
    """fence[k]: info string of the open fence at boundary k (None outside); skip[k]."""
    fence = [None] * (len(lines) + 1)
    skip = [False] * (len(lines) + 1)
    cur = None
    front = bool(lines) and lines[0].strip() == "---"
    comment = False
    for i, ln in enumerate(lines):
        fence[i] = cur
        skip[i] = front or comment
        st = ln.strip()
        if front:
            if i > 0 and st == "---":
                front = False
            continue
        if "<!--" in st and "-->" not in st:
            comment = True
        elif "-->" in st:
            comment = False
        if st.startswith("```") or st.startswith("~~~"):
            cur = None if cur is not None else (st[3:].strip().lower() or "")
    fence[len(lines)] = cur
    return fence, skip


SHELL_FENCES = ("bash", "sh", "shell", "console", "zsh", "shell-session", "sh-session")
PLAIN_FENCES = ("", "text", "txt", "env", "ini", "log", "conf", "dotenv", "properties")
JS_FENCES = ("js", "javascript", "mjs", "cjs", "ts", "typescript", "jsx")


def fenced_line(item, info, prv):
    """Render an item as one line inside a fenced block, or None if it would not fit."""
    cat, form, val = item
    info = info.split()[0] if info else ""
    if info in JS_FENCES:
        if form == "kv" and prv.rstrip().endswith((";", "{", "}")):
            return "const %s = %s;" % (val[0], json.dumps(val[1], ensure_ascii=False))
        if "*/" in item_text(item):
            return None
        return "// " + (val[2:] if form == "line" and val.startswith("# ") else item_text(item))
    if info in ("json", "jsonc"):
        if form == "kv" and prv.rstrip().endswith(","):
            return '%s: %s,' % (json.dumps(val[0]), json.dumps(val[1], ensure_ascii=False))
        return None
    if info in ("yaml", "yml"):
        if form == "kv":
            return yaml_line(*val)
        return "# " + item_text(item)
    if info in SHELL_FENCES:
        if form == "kv":
            return "export " + env_line(*val)
        return val if form == "line" else "# " + val
    if info in PLAIN_FENCES and form != "prose":
        return env_line(*val) if form == "kv" else val
    return None


def prose_render(item, lines, k, ext, state, rng, fname):
    cat, form, val = item
    prv, cur = lines[k - 1], lines[k]
    if ext == ".md":
        fence, skip = state
        if skip[k] or skip[k - 1]:
            return None
        if fence[k] is not None:
            if fence[k - 1] is None:
                return None  # right after the opening fence line; keep it simple
            fl = fenced_line(item, fence[k], prv)
            if fl is None:
                return None
            ind = lead(cur) if cur.strip() else lead(prv)
            return ind + fl + "\n", "md_fenced_line"
        if cur.lstrip().startswith(("|", "<", "#")) and not prv.strip() == "":
            return None
        mp, mc = LIST_ITEM.match(prv), LIST_ITEM.match(cur)
        if mp and mc and mp.group(1) == mc.group(1):
            body = val if form == "prose" else "`%s`" % (env_line(*val) if form == "kv" else val)
            return mc.group(1) + mc.group(2) + " " + body + "\n", "md_bullet"
        if not prv.strip() and cur.strip() and not cur.lstrip().startswith(("|", "<")):
            if form == "prose":
                return lead(cur) + val + "\n\n", "md_paragraph"
            body = env_line(*val) if form == "kv" else val
            return "```\n" + body + "\n```\n\n", "md_fenced_block"
        if (form == "prose" and prv.strip() and cur.strip() and not LIST_ITEM.match(cur)
                and prv.rstrip().endswith((".", ".)", "!", "?")) and lead(prv) == lead(cur)
                and not prv.lstrip().startswith(("|", "<", "#", "```")) and not cur.lstrip().startswith(("|", "<", "#", "```", "=", "-"))):
            return lead(cur) + val + "\n", "md_sentence"
        return None
    # .rst / .txt
    grammar = "Grammar" in fname
    ind = lead(cur)
    if grammar:
        if not prv.strip() or prv.lstrip().startswith("#"):
            return wrap(item_text(item), "", "# "), "grammar_comment"
        return None
    mp, mc = LIST_ITEM.match(prv), LIST_ITEM.match(cur)
    if mp and mc and mp.group(1) == mc.group(1) and mp.group(2) in "-*+":
        m = mc.group(1) + mc.group(2) + " "
        body = item_text(item)
        wl = textwrap.wrap(body, max(48, 72 - len(m)))
        return "".join((m if i == 0 else " " * len(m)) + w + "\n" for i, w in enumerate(wl)), "txt_bullet"
    if not prv.strip() and cur.strip() and not set(cur.strip()) <= set("=-~^*#+"):
        if k + 1 < len(lines) and lines[k + 1].strip() and set(lines[k + 1].strip()) <= set("=-~^*#+"):
            ind = ""  # before an rst heading
        if form == "prose":
            return wrap(val, ind, "", 72) + "\n", "txt_paragraph"
        return ind + "    " + item_text(item) + "\n\n", "txt_literal_line"
    return None


# ---------------------------------------------------------------- insertion
def try_insert(cand, item, rng, files):
    """cand: dict with rel, path, s, t, block. Returns updated row fields or None."""
    path = cand["path"]
    text, lines = files[path]
    ext = os.path.splitext(path)[1]
    bs, be = cand["block"]
    s, t = cand["s"], cand["t"]
    ks = list(range(s + 2, t - 1))
    rng.shuffle(ks)
    state = None
    if ext == ".py":
        state = py_info(path, text)
        base_ok = state is not None and py_parses(text)
    elif ext == ".js":
        state = js_comment_state(lines)
        mode = js_mode(path, text)
    else:
        state = md_state(lines) if ext == ".md" else None
    for k in ks[:40]:
        if ext == ".py":
            if state is None:
                continue
            r = py_render(item, lines, k, state, rng)
        elif ext == ".js":
            r = js_render(item, lines, k, state, rng, mode is not None)
        else:
            r = prose_render(item, lines, k, ext, state, rng, os.path.basename(path))
        if r is None:
            continue
        ins, site = r
        if "\\" in ins or len(ins) > 400:
            continue
        # choose the window [s2, t2) within the block, containing lines k-1 and k
        best = None
        for s2 in range(max(bs, s - 3), k - 1):
            n = sum(len(x) for x in lines[s2:k]) + len(ins)
            t2 = k
            while t2 < be and n < cand["target"]:
                n += len(lines[t2])
                t2 += 1
            if t2 >= k + 2 and MIN_LEN <= n <= MAX_LEN:
                best = (s2, t2)
                if s2 >= s:
                    break
        if best is None:
            continue
        s2, t2 = best
        new_full = "".join(lines[:k]) + ins + "".join(lines[k:])
        if ext == ".py" and base_ok and not py_parses(new_full):
            continue
        if ext == ".js" and mode is not None and not node_ok(new_full, mode):
            continue
        if ext == ".js" and mode is None and site != "js_comment" and site != "js_jsdoc_line":
            continue
        return {"s": s2, "t": t2, "k": k, "inserted": ins, "site": site}
    return None


# ---------------------------------------------------------------- build
def collect():
    rng = random.Random(SEED)
    files = {}
    pools = {}
    for src, lst, root in (("cpython", py_files(), PY_ROOT), ("npm", npm_files(), NPM_ROOT)):
        cands = []
        for p in lst:
            text = read_text(p)
            if text is None or len(text) < MIN_LEN + 100:
                continue
            rel = str(p.relative_to(root))
            lines = split_lines(text)
            frng = random.Random("%s|%s" % (SEED, rel))
            blocks = file_blocks(lines, frng)
            wins = []
            for (bs, be) in blocks:
                target = frng.randint(MIN_LEN, 1640)
                w = window_in(lines, bs, be, target)
                if w:
                    wins.append((bs, be, w[0], w[1], target))
            if not wins:
                continue
            frng.shuffle(wins)
            files[str(p)] = (text, lines)
            cands.append((rel, str(p), wins))
        rng.shuffle(cands)
        pools[src] = cands
    return files, pools


def select(files, pools):
    rng = random.Random(SEED + 1)
    chosen = []
    per_mod = Counter()
    seen_text = set()
    targets = {("cpython", True): PY_DOC_TARGET, ("cpython", False): N_PY - PY_DOC_TARGET,
               ("npm", True): NPM_DOC_TARGET, ("npm", False): N_NPM - NPM_DOC_TARGET}
    got = Counter()
    for src in ("cpython", "npm"):
        for isdoc in (True, False):
            for rel, path, wins in pools[src]:
                if (os.path.splitext(rel)[1] in DOC_EXT) != isdoc:
                    continue
                if got[(src, isdoc)] >= targets[(src, isdoc)]:
                    break
                mod = module_of(src, rel)
                nmax = MAX_PER_FILE if isdoc else rng.choice([1, 1, 2, 2, 3])
                taken = 0
                text, lines = files[path]
                for bs, be, s, t, target in wins:
                    if taken >= nmax or per_mod[mod] >= CAP or got[(src, isdoc)] >= targets[(src, isdoc)]:
                        break
                    wtext = "".join(lines[s:t])
                    h = hashlib.md5(wtext.encode()).hexdigest()
                    if h in seen_text:
                        continue
                    seen_text.add(h)
                    chosen.append({"src": src, "rel": rel, "path": path, "mod": mod,
                                   "block": (bs, be), "s": s, "t": t, "target": target,
                                   "ctype": chunk_type(rel, path, text, lines, s, t)})
                    taken += 1
                    per_mod[mod] += 1
                    got[(src, isdoc)] += 1
        # docs may be short of target: top up code of the same source
        short = targets[(src, True)] - got[(src, True)]
        if short > 0:
            targets[(src, False)] += short
            for rel, path, wins in pools[src]:
                if os.path.splitext(rel)[1] in DOC_EXT:
                    continue
                if got[(src, False)] >= targets[(src, False)]:
                    break
                mod = module_of(src, rel)
                used = {(c["block"]) for c in chosen if c["path"] == path}
                nfile = len(used)
                text, lines = files[path]
                for bs, be, s, t, target in wins:
                    if (bs, be) in used or nfile >= MAX_PER_FILE or per_mod[mod] >= CAP or got[(src, False)] >= targets[(src, False)]:
                        continue
                    wtext = "".join(lines[s:t])
                    h = hashlib.md5(wtext.encode()).hexdigest()
                    if h in seen_text:
                        continue
                    seen_text.add(h)
                    chosen.append({"src": src, "rel": rel, "path": path, "mod": mod,
                                   "block": (bs, be), "s": s, "t": t, "target": target,
                                   "ctype": chunk_type(rel, path, text, lines, s, t)})
                    nfile += 1
                    per_mod[mod] += 1
                    got[(src, False)] += 1
    assert len(chosen) == N_TOTAL, (len(chosen), got)
    return chosen


def assign_items(rng):
    by_cat = defaultdict(list)
    for it in ITEMS:
        by_cat[it[0]].append(it)
    plan = []
    for cat in CATEGORIES:
        its = list(by_cat[cat])
        extra = rng.sample(its, PER_CAT - len(its))
        plan.extend(its + extra)
    rng.shuffle(plan)
    return plan


def build():
    files, pools = collect()
    chosen = select(files, pools)
    rng = random.Random(SEED + 2)
    # stratified clean / inserted split by chunk type
    groups = defaultdict(list)
    for c in chosen:
        groups[c["ctype"]].append(c)
    order = []
    for ct in sorted(groups):
        g = groups[ct]
        rng.shuffle(g)
        order.extend(g)
    # interleave so that half of each chunk type is offered for insertion first
    ins_pref = [c for i, c in enumerate(order) if i % 2 == 0]
    cln_pref = [c for i, c in enumerate(order) if i % 2 == 1]
    plan = assign_items(rng)
    inserted, pending = [], list(ins_pref) + list(cln_pref)
    used = set()
    for item in plan:
        done = False
        for c in pending:
            if id(c) in used:
                continue
            r = try_insert(c, item, rng, files)
            if r is None:
                continue
            c2 = dict(c)
            c2.update(r)
            c2["item"] = item
            inserted.append(c2)
            used.add(id(c))
            done = True
            break
        assert done, item
    clean = [c for c in chosen if id(c) not in used]
    assert len(inserted) == 300 and len(clean) == 300, (len(inserted), len(clean))
    rows, meta = [], []
    for c in clean:
        _, lines = files[c["path"]]
        text = "".join(lines[c["s"]:c["t"]])
        rows.append({"text": text, "sensitive": False, "category": "none", "kind": "long_clean",
                     "source": "%s:%d" % (c["rel"], c["s"] + 1)})
        meta.append((c, "clean"))
    for c in inserted:
        _, lines = files[c["path"]]
        k = c["k"]
        text = "".join(lines[c["s"]:k]) + c["inserted"] + "".join(lines[k:c["t"]])
        rows.append({"text": text, "sensitive": True, "category": c["item"][0], "kind": "long_inserted",
                     "source": "%s:%d" % (c["rel"], c["s"] + 1), "inserted": c["inserted"]})
        meta.append((c, c["site"]))
    perm = list(range(len(rows)))
    rng.shuffle(perm)
    rows = [rows[i] for i in perm]
    meta = [meta[i] for i in perm]
    with open(OUT, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    stats = {
        "rows": len(rows),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "by_category": dict(sorted(Counter(r["category"] for r in rows).items())),
        "by_source_root": dict(Counter(c["src"] for c, _ in meta)),
        "by_chunk_type": dict(sorted(Counter(c["ctype"] for c, _ in meta).items())),
        "by_chunk_type_and_kind": dict(sorted(Counter("%s/%s" % (c["ctype"], r["kind"]) for (c, _), r in zip(meta, rows)).items())),
        "by_extension": dict(sorted(Counter("%s%s" % (c["src"] + ":", os.path.splitext(c["rel"])[1]) for c, _ in meta).items())),
        "by_insertion_site": dict(sorted(Counter(s for _, s in meta if s != "clean").items())),
        "by_item_form": dict(sorted(Counter(c["item"][1] for c, s in meta if s != "clean").items())),
        "distinct_items_used": len({c["item"] for c, s in meta if s != "clean"}),
        "distinct_files": len({c["rel"] for c, _ in meta}),
        "distinct_modules": {"cpython": len({c["mod"] for c, _ in meta if c["src"] == "cpython"}),
                             "npm": len({c["mod"] for c, _ in meta if c["src"] == "npm"})},
        "by_module": dict(sorted(Counter("%s:%s" % (c["src"], c["mod"]) for c, _ in meta).items(), key=lambda x: (-x[1], x[0]))),
        "length": {"min": min(len(r["text"]) for r in rows), "max": max(len(r["text"]) for r in rows),
                   "mean": round(sum(len(r["text"]) for r in rows) / len(rows), 1)},
        "md5_long_f_jsonl": hashlib.md5(OUT.read_bytes()).hexdigest(),
        "seed": SEED,
    }
    STATS.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: stats[k] for k in ("rows", "by_kind", "by_source_root", "by_chunk_type", "length", "md5_long_f_jsonl")}, indent=1))


# ---------------------------------------------------------------- check
def luhn_ok(d):
    t = 0
    for i, c in enumerate(reversed(d)):
        x = int(c)
        if i % 2:
            x *= 2
            if x > 9:
                x -= 9
        t += x
    return t % 10 == 0


def iban_ok(s):
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


CARD_RE = re.compile(r"(?<![\d-])(?:[2-6]\d{3}[ -]?\d{4,6}[ -]?\d{4,5}(?:[ -]?\d{1,4})?)(?![\d-])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")


def check():
    rows = [json.loads(l) for l in OUT.read_text(encoding="utf-8").splitlines()]
    errs = []
    E = errs.append
    if len(rows) != N_TOTAL:
        E("row count %d" % len(rows))
    kinds = Counter(r.get("kind") for r in rows)
    if kinds != Counter({"long_clean": 300, "long_inserted": 300}):
        E("kinds %s" % kinds)
    cats = Counter(r["category"] for r in rows if r.get("sensitive"))
    for c in CATEGORIES:
        if cats[c] != PER_CAT:
            E("category %s has %d" % (c, cats[c]))
    if set(cats) - set(CATEGORIES):
        E("unknown categories %s" % (set(cats) - set(CATEGORIES)))
    texts = Counter(r["text"] for r in rows)
    if any(v > 1 for v in texts.values()):
        E("duplicate texts")
    spans = defaultdict(list)
    mods = Counter()
    roots = Counter()
    contents = {}
    for i, r in enumerate(rows):
        keys = set(r)
        want = {"text", "sensitive", "category", "kind", "source"}
        if r.get("sensitive"):
            want = want | {"inserted"}
            if r["kind"] != "long_inserted" or r["category"] == "none":
                E("row %d bad inserted labels" % i)
        else:
            if r["kind"] != "long_clean" or r["category"] != "none" or r["sensitive"] is not False:
                E("row %d bad clean labels" % i)
        if keys != want:
            E("row %d keys %s" % (i, sorted(keys)))
        if not (MIN_LEN <= len(r["text"]) <= MAX_LEN):
            E("row %d length %d" % (i, len(r["text"])))
        rel, _, ln = r["source"].rpartition(":")
        ln = int(ln)
        path = resolve(rel)
        src = root_name(path)
        roots[src] += 1
        mods[(src, module_of(src, rel))] += 1
        if str(path) not in contents:
            contents[str(path)] = split_lines(read_text(path))
        lines = contents[str(path)]
        base = r["text"]
        if r.get("sensitive"):
            ins = r["inserted"]
            if base.count(ins) != 1:
                E("row %d inserted occurs %d times" % (i, base.count(ins)))
                continue
            p = base.index(ins)
            base = base[:p] + base[p + len(ins):]
            # interior line boundary
            if p == 0 or base[p - 1] != "\n" or p >= len(base):
                E("row %d insertion not at an interior line boundary" % i)
        # base must equal whole lines ln .. ln+m-1
        n, j = 0, ln - 1
        while n < len(base) and j < len(lines):
            n += len(lines[j])
            j += 1
        if "".join(lines[ln - 1:j]) != base:
            E("row %d slice mismatch %s" % (i, r["source"]))
            continue
        spans[str(path)].append((ln - 1, j, i))
        if r.get("sensitive"):
            ext = path.suffix
            full = "".join(lines)
            kline = ln - 1 + base[:p].count("\n")
            new_full = "".join(lines[:kline]) + ins + "".join(lines[kline:])
            if ext == ".py" and py_parses(full) and not py_parses(new_full):
                E("row %d python no longer parses" % i)
            if ext == ".js" and NODE:
                mode = js_mode(str(path), full)
                if mode and not node_ok(new_full, mode):
                    E("row %d js no longer parses" % i)
    for path, sp in spans.items():
        if len(sp) > MAX_PER_FILE:
            E("%s has %d windows" % (path, len(sp)))
        sp.sort()
        for a, b in zip(sp, sp[1:]):
            if b[0] < a[1]:
                E("overlap in %s rows %d/%d" % (path, a[2], b[2]))
    for m, n in mods.items():
        if n > CAP:
            E("module %s has %d rows" % (m, n))
    # Luhn / mod-97 over every inserted item value
    ncard = niban = 0
    for r in rows:
        if not r.get("sensitive"):
            continue
        for m in CARD_RE.finditer(r["inserted"]):
            d = re.sub(r"\D", "", m.group(0))
            if 13 <= len(d) <= 19 and d[0] in "23456" and len(m.group(0).split()) <= 5:
                if r["category"] == "financial" and re.search(r"card|visa|mastercard|amex|cvv|cvc|exp", r["inserted"], re.I):
                    ncard += 1
                    if not luhn_ok(d):
                        E("Luhn fails: %s" % m.group(0))
        for m in IBAN_RE.finditer(r["inserted"]):
            niban += 1
            if not iban_ok(m.group(0)):
                E("mod-97 fails: %s" % m.group(0))
    # and over the item source itself
    for cat, form, val in ITEMS:
        s = val if isinstance(val, str) else " ".join(val)
        for m in IBAN_RE.finditer(s):
            if not iban_ok(m.group(0)):
                E("item IBAN fails: %s" % m.group(0))
    for bad in ("4111111111111111", "AKIAIOSFODNN7EXAMPLE", "DE89370400440532013000", "GB29NWBK", "555-01"):
        if any(bad in r["text"].replace(" ", "") for r in rows if r.get("sensitive")):
            E("famous example value present: %s" % bad)
    distinct = len({r["inserted"] for r in rows if r.get("sensitive")})
    print(json.dumps({"rows": len(rows), "kinds": dict(kinds), "roots": dict(roots),
                      "card_numbers_checked": ncard, "ibans_checked": niban,
                      "distinct_inserted_texts": distinct,
                      "md5": hashlib.md5(OUT.read_bytes()).hexdigest(),
                      "errors": len(errs)}, indent=1))
    for e in errs[:50]:
        print("ERROR", e)
    return 0 if not errs else 1


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(check())
    build()
