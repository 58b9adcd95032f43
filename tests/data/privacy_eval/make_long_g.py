"""Deterministic builder for the blind held-out set long_g (long developer content).

Usage:  python make_long_g.py          # build long_g.jsonl + long_g_stats.json
        python make_long_g.py --check  # validate the built files
Standard library only.  Sources are read-only system files (see README-long_g.md).
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import items_g

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "long_g.jsonl")
STATS = os.path.join(HERE, "long_g_stats.json")
SEED = 20261203
N_ROWS = 600
MIN_LEN, MAX_LEN = 1300, 1700
MAX_PER_FILE = 4
GROUP_CAP = 48  # 8% of 600
TARGETS = {"perl": 210, "docs": 210, "s3": 180}
CATS = ["contact", "identification", "financial", "authentication", "health",
        "location_network", "account_profile", "device_incident", "media_content", "ancillary"]
PER_CAT = 30

PERL_ROOTS = ["/usr/share/perl5", "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl",
              "/usr/lib/x86_64-linux-gnu/perl-base", "/usr/lib/x86_64-linux-gnu/perl5"]
DOC_ROOT = "/usr/share/doc"
COREPACK = "/usr/lib/node_modules/corepack"
DOC_NAME = re.compile(r"^(readme|news|changes|changelog|history|todo|faq|thanks|authors|bugs|"
                      r"install|usage|release|notes)", re.I)
DOC_EXT = (".md", ".markdown", ".txt", ".rst")
SHEBANG = re.compile(r"^#!\s*\S*/(?:env\s+)?(?:ba|da|k)?sh\b")
ETC_SKIP = re.compile(r"^/etc/(ssl|ssh|shadow|gshadow|sudoers|security|NetworkManager|ppp|"
                      r"wpa_supplicant|credstore|letsencrypt|passwd|group)")
BULLET = re.compile(r"^(\s*[-*+] +)\S")


# ------------------------------------------------------------------ reading
def read_text(path: str) -> str | None:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                raw = fh.read(4_000_000)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(4_000_000)
    except OSError:
        return None
    if b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def rel(path: str) -> str:
    return path.lstrip("/")


# ------------------------------------------------------------------ enumeration
def walk(root: str):
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            yield p


def perl_group(path: str) -> str:
    for r in PERL_ROOTS:
        if path.startswith(r + "/"):
            parts = path[len(r) + 1:].split("/")
            if re.match(r"^5\.\d+", parts[0]):
                parts = parts[1:]
            top = parts[0]
            top = top[:-3] if top.endswith((".pm", ".pl")) else top
            return "perl:" + top
    return "perl:?"


def enumerate_files() -> list[tuple[str, str, str, str]]:
    """(source, group, path, lang) for every candidate file, sorted, deduplicated by content."""
    out = []
    for r in PERL_ROOTS:
        if os.path.isdir(r):
            for p in walk(r):
                if p.endswith((".pm", ".pl")):
                    out.append(("perl", perl_group(p), p, "perl"))
    for p in walk(DOC_ROOT):
        base = os.path.basename(p)
        name = base[:-3] if base.endswith(".gz") else base
        if "copyright" in name.lower() or name.endswith((".html", ".htm")):
            continue
        if not (DOC_NAME.match(name) or name.lower().endswith(DOC_EXT)):
            continue
        if re.search(r"\.(sh|bash|pl|pm|py|c|h|js|css|png|gif|svg|xml|awk|conf)$", name):
            continue
        lang = "md" if name.lower().endswith((".md", ".markdown")) else (
            "rst" if name.lower().endswith(".rst") else "text")
        pkg = p[len(DOC_ROOT) + 1:].split("/")[0]
        out.append(("docs", "doc:" + pkg, p, lang))
    for p in walk(COREPACK):
        if p.endswith((".cjs", ".js")):
            out.append(("s3", "corepack", p, "js"))
        elif p.endswith(".json"):
            out.append(("s3", "corepack", p, "json"))
    for root in ("/usr/share", "/etc"):
        for p in walk(root):
            if root == "/etc" and ETC_SKIP.match(p):
                continue
            if p.startswith(("/usr/share/perl", "/usr/share/doc/") ) and p.endswith((".pm", ".pl")):
                continue
            if not os.access(p, os.R_OK):
                continue
            is_sh = p.endswith((".sh", ".bash")) or p.startswith("/usr/share/bash-completion/")
            if not is_sh:
                try:
                    with open(p, "rb") as fh:
                        head = fh.readline(200)
                except OSError:
                    continue
                is_sh = bool(SHEBANG.match(head.decode("latin-1")))
            if not is_sh or p.endswith(".gz"):
                continue
            parts = p.split("/")
            if root == "/etc":
                grp = "sh:etc/" + parts[2]
            elif parts[3] == "doc":
                grp = "sh:doc/" + parts[4]
            else:
                grp = "sh:" + parts[3]
            out.append(("s3", grp, p, "shell"))
    seen, uniq = set(), []
    for rec in out:
        txt = read_text(rec[2])
        if txt is None:
            continue
        h = hashlib.sha1(txt.encode()).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        uniq.append(rec)
    return uniq


# ------------------------------------------------------------------ windows
def tiles(lines: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping windows [i, j) of whole lines, 1300..1700 chars, greedy from the top."""
    res, i, n = [], 0, len(lines)
    while i < n:
        total, j = 0, i
        while j < n and total < MIN_LEN:
            total += len(lines[j])
            j += 1
        if total < MIN_LEN:
            break
        if total > MAX_LEN or j - i < 3:
            i += 1
            continue
        res.append((i, j))
        i = j
    return res


# ------------------------------------------------------------------ line states
def perl_states(lines: list[str]) -> list[str]:
    st, pod, end = [], False, False
    here: str | None = None
    for ln in lines:
        s = ln.rstrip("\n")
        if here is not None:
            st.append("str")
            if s.strip() == here:
                here = None
            continue
        if end:
            st.append("pod")
            continue
        if pod:
            st.append("pod")
            if s.startswith("=cut"):
                pod = False
            continue
        if re.match(r"^=[a-zA-Z]", s):
            st.append("pod")
            pod = not s.startswith("=cut")
            continue
        if s.strip() in ("__END__", "__DATA__"):
            st.append("pod")
            end = True
            continue
        m = re.search(r"<<~?\s*(['\"]?)([A-Za-z_]\w*)\1", s)
        if m and not s.lstrip().startswith("#"):
            here = m.group(2)
        st.append("comment" if s.lstrip().startswith("#") else "code")
    return st


def shell_states(lines: list[str]) -> list[str]:
    st, here = [], None
    for ln in lines:
        s = ln.rstrip("\n")
        if here is not None:
            st.append("str")
            if s.strip() == here:
                here = None
            continue
        m = re.search(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)\1", s)
        if m and not s.lstrip().startswith("#"):
            here = m.group(2)
        st.append("comment" if s.lstrip().startswith("#") else "code")
    return st


def js_states(lines: list[str]) -> list[str]:
    st, block, ticks = [], False, 0
    for ln in lines:
        s = ln.strip()
        if ticks % 2 == 1:
            st.append("str")
        elif block:
            st.append("jsdoc")
        elif s.startswith("/*"):
            st.append("jsdoc")
        elif s.startswith("//"):
            st.append("comment")
        else:
            st.append("code")
        if not block and s.startswith("/*") and "*/" not in s:
            block = True
        elif block and "*/" in s:
            block = False
        if not s.startswith(("//", "*", "/*")):
            ticks += len(re.findall(r"(?<!\\)`", ln))
    return st


def md_states(lines: list[str]) -> list[str]:
    st, fence = [], False
    for ln in lines:
        if ln.lstrip().startswith("```"):
            st.append("fence")
            fence = not fence
            continue
        st.append("fence" if fence else "prose")
    return st


def states_for(lang: str, lines: list[str]) -> list[str]:
    if lang == "perl":
        return perl_states(lines)
    if lang == "shell":
        return shell_states(lines)
    if lang == "js":
        return js_states(lines)
    if lang == "md":
        return md_states(lines)
    if lang == "json":
        return ["json"] * len(lines)
    return ["prose"] * len(lines)


def chunk_type(lang: str, st: list[str], lines: list[str]) -> str:
    if lang in ("md", "text", "rst"):
        return "prose"
    nb = [s for s, ln in zip(st, lines) if ln.strip()]
    doc = sum(1 for s in nb if s in ("pod", "comment", "jsdoc"))
    return "doc_comment" if nb and doc / len(nb) >= 0.5 else "code"


# ------------------------------------------------------------------ syntax checks
_orig_cache: dict[str, tuple[int, str]] = {}


def run_check(lang: str, path: str, text: str) -> tuple[int, str]:
    suffix = {"perl": ".pm", "shell": ".sh", "js": ".cjs", "json": ".json"}[lang]
    if lang == "json":
        try:
            json.loads(text)
            return 0, ""
        except ValueError as e:
            return 1, str(e)
    tmpdir = tempfile.mkdtemp(prefix="long_g_check_")
    tmp = os.path.join(tmpdir, "x" + suffix)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    try:
        cmd = {"perl": ["perl", "-c", tmp], "shell": ["bash", "-n", tmp],
               "js": ["node", "--check", tmp]}[lang]
        env = dict(os.environ, PERL_HASH_SEED="0", PERL_PERTURB_KEYS="0", LC_ALL="C")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                               cwd=os.path.dirname(path) or "/")
        except subprocess.TimeoutExpired:
            return 99, "timeout"
        msg = (r.stderr + r.stdout).replace(tmp, "FILE")
        msg = re.sub(r"line \d+", "line N", msg)
        return r.returncode, "\n".join(sorted(msg.splitlines()))
    finally:
        os.unlink(tmp)
        os.rmdir(tmpdir)


def parses_like_original(lang: str, path: str, lines: list[str], abs_k: int, ins: str) -> bool | None:
    """True if the spliced file checks exactly as the original; None if the original fails."""
    if path not in _orig_cache:
        _orig_cache[path] = run_check(lang, path, "".join(lines))
    orc, omsg = _orig_cache[path]
    if orc != 0:
        return None
    nrc, nmsg = run_check(lang, path, "".join(lines[:abs_k]) + ins + "".join(lines[abs_k:]))
    return nrc == 0 and nmsg == omsg


# ------------------------------------------------------------------ rendering
def indent_of(s: str) -> str:
    return re.match(r"^[ \t]*", s).group(0)


def camel(key: str) -> str:
    a = key.split("_")
    return a[0] + "".join(x.capitalize() for x in a[1:])


def item_line(item: tuple) -> str:
    """The code-ish one-line form of an item (for comments / fenced blocks)."""
    if item[1] == "kv":
        return f"{item[2].upper()}={item[3]}"
    return item[2]


def render(lang: str, site: str, item: tuple, prev: str, nxt: str, mode: str) -> str:
    """Text to insert between lines prev and nxt (always ends with a newline)."""
    form = item[1]
    ind = indent_of(nxt if nxt.strip() else prev)
    if site in ("prose", "pod"):
        if mode == "bullet":
            m = BULLET.match(nxt)
            return m.group(1) + (item[2] if form == "prose" else item_line(item)) + "\n"
        if mode == "para":
            if form == "prose":
                return ind + item[2] + "\n\n"
            if lang == "md":
                return ind + "```\n" + ind + item_line(item) + "\n" + ind + "```\n\n"
            return ind + "    " + item_line(item) + "\n\n"
        return ind + (item[2] if form == "prose" else item_line(item)) + "\n"
    if site == "str":
        return ind + (item[2] if form == "prose" else item_line(item)) + "\n"
    if site == "fence":
        return ind + (item_line(item) if form != "prose" else "# " + item[2]) + "\n"
    if site == "json":
        if form == "kv":
            return ind + json.dumps(item[2]) + ": " + json.dumps(item[3], ensure_ascii=False) + ",\n"
        return ind + '"note": ' + json.dumps(item_line(item) if form != "prose" else item[2],
                                             ensure_ascii=False) + ",\n"
    if site == "jsdoc":
        star = "* " if nxt.strip().startswith("*") else ""
        return ind + star + (item[2] if form == "prose" else item_line(item)) + "\n"
    # code sites: perl / shell / js
    cpre = "//" if lang == "js" else "#"
    if re.match(r"^\s*(\}|\)|\]|esac\b|fi\b|done\b|;;|else\b|elif\b)", nxt) and prev.strip():
        ind = indent_of(prev)
    if mode == "stmt":
        if form == "kv":
            if lang == "perl":
                return f"{ind}my ${item[2]} = '{item[3]}';\n"
            if lang == "shell":
                return f"{ind}{item[2].upper()}='{item[3]}'\n"
            return f'{ind}const {camel(item[2])} = "{item[3]}";\n'
        return ind + item[2] + "\n"  # shell-valid line
    m = re.match(r"^\s*(#+[a-z]*|//)(?=\s|$)", prev)
    if m and re.match(r"^\s*(#|//)", nxt):
        cpre = m.group(1)  # continue the surrounding comment block in its own style
    if form == "prose":
        return f"{ind}{cpre} {item[2]}\n"
    ln = item_line(item)
    if ln.startswith("# "):
        ln = ln[2:]
    if form == "kv":
        ln = f"{item[2]} = {item[3]}"
    return f"{ind}{cpre} {ln}\n"


def candidates(lang: str, st: list[str], lines: list[str], a: int, b: int, item: tuple):
    """(abs_k, site, mode) insertion points strictly inside window [a, b)."""
    res = []
    for k in range(a + 1, b):
        p, n = lines[k - 1], lines[k]
        sp, sn = st[k - 1], st[k]
        if "str" in (sp, sn):
            continue
        if lang in ("md", "text", "rst") or (lang == "perl" and sp == sn == "pod"):
            if sp == "fence" or sn == "fence":
                if sp == sn == "fence" and lines[k - 1].strip() != "```" and not lines[k - 1].lstrip().startswith("```"):
                    res.append((k, "fence", "line"))
                continue
            site = "pod" if lang == "perl" else "prose"
            if BULLET.match(n) and p.strip() and item[1] == "prose":
                res.append((k, site, "bullet"))
            elif not p.strip() and n.strip():
                res.append((k, site, "para"))
            elif p.strip() and n.strip() and site == "prose" and (
                    p.rstrip().endswith((".", ":", "!", "?")) or BULLET.match(n)):
                res.append((k, site, "line"))
            continue
        if lang == "json":
            if p.rstrip().endswith(("{", ",")) and re.match(r'^\s*"', n):
                res.append((k, "json", "member"))
            continue
        if lang == "js" and sp == "jsdoc" and sn == "jsdoc" and n.strip().startswith("*") \
                and not n.strip().startswith("*/"):
            res.append((k, "jsdoc", "line"))
            continue
        if sp in ("pod", "jsdoc") or sn in ("pod", "jsdoc"):
            if not (sp == "jsdoc" and p.strip().endswith("*/")):
                continue
        if lang in ("perl", "shell") and p.rstrip().endswith(("\\", "|", "&&", "||", ",", "(")):
            continue
        if re.match(r"^\s*(\.|->|\?|:|\|\||&&|or\b|and\b|\))", n):
            continue
        both_comment = sp == "comment" and sn == "comment"
        stmt_ok = not both_comment and (
            p.rstrip().endswith((";", "{", "}")) or not p.strip() or sp == "comment") or (not both_comment and
            lang == "shell" and not p.rstrip().endswith(("\\", "|", "&&", "||")))
        if stmt_ok and (item[1] == "kv" or (item[1] == "line" and item[3] and lang == "shell")):
            res.append((k, "code", "stmt"))
        res.append((k, "code", "comment"))
    if not res:  # last resort: a plain line inside a here-doc / template string body
        res = [(k, "str", "line") for k in range(a + 1, b)
               if st[k - 1] == st[k] == "str" and lines[k - 1].strip() and lines[k].strip()]
    return res


def place(rng: random.Random, lang: str, path: str, lines: list[str], st: list[str],
          a: int, b: int, item: tuple):
    """Choose an insertion; returns (a2, b2, abs_k, inserted) or None."""
    cands = candidates(lang, st, lines, a, b, item)
    if not cands:
        return None
    # prefer statement forms for kv / shell lines, paragraph / bullet forms in prose
    pref = [c for c in cands if c[2] in ("stmt", "bullet", "para", "member", "jsdoc")]
    order = rng.sample(pref, len(pref)) + rng.sample(cands, len(cands))
    tried = set()
    for k, site, mode in order:
        if (k, mode) in tried:
            continue
        tried.add((k, mode))
        if len(tried) > 12:
            break
        ins = render(lang, site, item, lines[k - 1], lines[k], mode)
        a2, b2 = a, b
        total = sum(len(x) for x in lines[a2:b2]) + len(ins)
        while total > MAX_LEN and b2 - 1 > k:
            b2 -= 1
            total -= len(lines[b2])
        while total > MAX_LEN and a2 + 1 < k:
            total -= len(lines[a2])
            a2 += 1
        if not (MIN_LEN <= total <= MAX_LEN):
            continue
        if lang in ("perl", "shell", "js", "json") and site in ("code", "json", "jsdoc", "str"):
            ok = parses_like_original(lang, path, lines, k, ins)
            if ok is False:
                continue
            if ok and site == "code" and lang != "json":
                probe = run_check(lang, path, "".join(lines[:k]) + ")(}{ ]\n" + "".join(lines[k:]))
                if probe[0] == 0:  # junk accepted => we are inside a string / here-doc
                    continue
            if ok is None and mode == "stmt":
                continue
        return a2, b2, k, ins
    return None


# ------------------------------------------------------------------ build
def build() -> None:
    rng = random.Random(SEED)
    files = enumerate_files()
    by_src: dict[str, list] = collections.defaultdict(list)
    for rec in files:
        by_src[rec[0]].append(rec)
    texts_seen: set[str] = set()
    group_n: collections.Counter = collections.Counter()
    chosen: dict[str, list] = {}
    notes = []
    cache: dict[str, tuple[list[str], list[str]]] = {}
    per_file: dict[str, list] = {}

    def load(path: str, lang: str):
        if path not in cache:
            lines = split_lines(read_text(path) or "")
            cache[path] = (lines, states_for(lang, lines))
        return cache[path]

    def pick(src: str, target: int) -> list:
        recs = list(by_src[src])
        rng.shuffle(recs)
        got = []
        for cap in (2, MAX_PER_FILE):
            for s, grp, path, lang in recs:
                if len(got) >= target:
                    break
                lines, _ = load(path, lang)
                ts = tiles(lines)
                if not ts:
                    continue
                have = per_file.setdefault(path, [])
                order = random.Random(f"{SEED}:{path}").sample(ts, len(ts))
                for (i, j) in order:
                    if len(have) >= cap or len(got) >= target or group_n[grp] >= GROUP_CAP:
                        break
                    if (i, j) in have:
                        continue
                    t = "".join(lines[i:j])
                    if t in texts_seen:
                        continue
                    texts_seen.add(t)
                    have.append((i, j))
                    group_n[grp] += 1
                    got.append((s, grp, path, lang, i, j))
        return got

    for src in ("perl", "docs", "s3"):
        chosen[src] = pick(src, TARGETS[src])
    short = TARGETS["s3"] - len(chosen["s3"])
    if short > 0:
        notes.append(f"source 3 (corepack + shell) gave only {len(chosen['s3'])} windows; "
                     f"filled {short} from perl/docs")
        extra_p = pick("perl", short // 2)
        chosen["perl"] += extra_p
        extra_d = pick("docs", short - len(extra_p))
        chosen["docs"] += extra_d

    # clean / inserted split: half of every source
    rows_plan = []
    for src in ("perl", "docs", "s3"):
        ws = chosen[src]
        rng.shuffle(ws)
        half = len(ws) // 2
        rows_plan += [(w, False) for w in ws[:half]] + [(w, True) for w in ws[half:]]
    n_ins = sum(1 for _, f in rows_plan if f)
    if n_ins != 300:  # odd split across sources: move flags to make exactly 300/300
        flip = [i for i, (_, f) in enumerate(rows_plan) if f == (n_ins > 300)]
        for i in flip[: abs(n_ins - 300)]:
            rows_plan[i] = (rows_plan[i][0], not rows_plan[i][1])

    cats = [c for c in CATS for _ in range(PER_CAT)]
    rng.shuffle(cats)
    pools = {c: [it for it in items_g.ITEMS if it[0] == c] for c in CATS}
    for c in CATS:
        rng.shuffle(pools[c])
    use_n = collections.Counter()

    rows, meta = [], []
    ins_rows = [i for i, (_, f) in enumerate(rows_plan) if f]
    clean_rows = [i for i, (_, f) in enumerate(rows_plan) if not f]
    ci = 0
    swaps = 0
    for idx in ins_rows:
        cat = cats[ci]
        ci += 1
        done = False
        attempt_rows = [idx] + [j for j in clean_rows if rows_plan[j][0][0] == rows_plan[idx][0][0]]
        for tries, ridx in enumerate(attempt_rows[:40]):
            (src, grp, path, lang, a, b) = rows_plan[ridx][0]
            lines, st = load(path, lang)
            pool = pools[cat]
            item = pool[use_n[cat] % len(pool)]
            res = place(rng, lang, path, lines, st, a, b, item)
            if res is None:
                continue
            use_n[cat] += 1
            if ridx != idx:  # swap roles with a clean row of the same source
                rows_plan[idx], rows_plan[ridx] = (rows_plan[idx][0], False), (rows_plan[ridx][0], True)
                clean_rows.remove(ridx)
                clean_rows.append(idx)
                swaps += 1
            a2, b2, k, ins = res
            text = "".join(lines[a2:k]) + ins + "".join(lines[k:b2])
            rows.append((ridx, {"text": text, "sensitive": True, "category": cat,
                                "kind": "long_inserted", "source": f"{rel(path)}:{a2 + 1}",
                                "inserted": ins}))
            meta.append((ridx, src, grp, lang, chunk_type(lang, st[a2:b2], lines[a2:b2]), cat,
                         item, k - a2, b2 - a2))
            done = True
            break
        if not done:
            raise SystemExit(f"could not place {cat} in any {rows_plan[idx][0][0]} window")
    for idx in clean_rows:
        (src, grp, path, lang, a, b) = rows_plan[idx][0]
        lines, st = load(path, lang)
        rows.append((idx, {"text": "".join(lines[a:b]), "sensitive": False, "category": "none",
                           "kind": "long_clean", "source": f"{rel(path)}:{a + 1}"}))
        meta.append((idx, src, grp, lang, chunk_type(lang, st[a:b], lines[a:b]), "none",
                     None, None, b - a))
    if swaps:
        notes.append(f"{swaps} inserted rows had no fitting interior site and swapped role "
                     f"with a clean window of the same source")
    rows.sort(key=lambda r: r[0])
    random.Random(SEED + 1).shuffle(rows)
    with open(OUT, "w", encoding="utf-8") as fh:
        for _, r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    st_src = collections.Counter(m[1] for m in meta)
    stats = {
        "rows": len(rows),
        "sensitive": sum(1 for _, r in rows if r["sensitive"]),
        "by_source": dict(sorted(st_src.items())),
        "by_source_and_kind": dict(sorted(collections.Counter(
            f"{m[1]}/{'inserted' if m[5] != 'none' else 'clean'}" for m in meta).items())),
        "by_lang": dict(sorted(collections.Counter(m[3] for m in meta).items())),
        "by_chunk_type": dict(sorted(collections.Counter(m[4] for m in meta).items())),
        "by_chunk_type_inserted": dict(sorted(collections.Counter(
            m[4] for m in meta if m[5] != "none").items())),
        "by_category": dict(sorted(collections.Counter(m[5] for m in meta).items())),
        "item_forms_used": dict(sorted(collections.Counter(
            m[6][1] for m in meta if m[6]).items())),
        "distinct_items_used": len({m[6] for m in meta if m[6]}),
        "items_written": len(items_g.ITEMS),
        "by_group_top": dict(collections.Counter(m[2] for m in meta).most_common(40)),
        "groups": len({m[2] for m in meta}),
        "files": len({r["source"].rsplit(":", 1)[0] for _, r in rows}),
        "notes": notes,
        "seed": SEED,
        "md5": md5(OUT),
    }
    with open(STATS, "w", encoding="utf-8") as fh:
        json.dump(stats, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    print(json.dumps({k: stats[k] for k in ("rows", "sensitive", "by_source", "by_chunk_type",
                                            "distinct_items_used", "notes", "md5")}, indent=1))


def md5(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


# ------------------------------------------------------------------ check
def luhn(num: str) -> bool:
    d = [int(c) for c in num][::-1]
    t = sum(x if i % 2 == 0 else (x * 2 - 9 if x * 2 > 9 else x * 2) for i, x in enumerate(d))
    return t % 10 == 0


def mod97(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD_RE = re.compile(r"\b[3-6]\d{3}(?:[ -]?\d{2,6}){2,4}\b")
FAMOUS = ["4111111111111111", "AKIAIOSFODNN7EXAMPLE", "DE89370400440532013000",
          "GB29NWBK60161331926819", "NL91ABNA0417164300", "BE68539007547034",
          "CH9300762011623852957", "AT611904300234573201", "DE44500105175407324931"]


def check() -> None:
    errs = []
    rows = [json.loads(x) for x in open(OUT, encoding="utf-8")]
    if len(rows) != N_ROWS:
        errs.append(f"rows={len(rows)}")
    kinds = collections.Counter((r["sensitive"], r["kind"], r["category"] == "none") for r in rows)
    if kinds != {(False, "long_clean", True): 300, (True, "long_inserted", False): 300}:
        errs.append(f"kinds {kinds}")
    cc = collections.Counter(r["category"] for r in rows if r["sensitive"])
    if set(cc) != set(CATS) or any(v != PER_CAT for v in cc.values()):
        errs.append(f"categories {cc}")
    base_keys = {"text", "sensitive", "category", "kind", "source"}
    if len({r["text"] for r in rows}) != len(rows):
        errs.append("duplicate texts")
    spans = collections.defaultdict(list)
    line_cache: dict[str, list[str]] = {}
    for n, r in enumerate(rows):
        want = base_keys | ({"inserted"} if r["sensitive"] else set())
        if set(r) != want:
            errs.append(f"row {n} keys {sorted(r)}")
            continue
        if not (MIN_LEN <= len(r["text"]) <= MAX_LEN):
            errs.append(f"row {n} len {len(r['text'])}")
        path, line = r["source"].rsplit(":", 1)
        p = "/" + path
        if p not in line_cache:
            line_cache[p] = split_lines(read_text(p) or "")
        lines = line_cache[p]
        if r["sensitive"]:
            ins = r["inserted"]
            if r["text"].count(ins) < 1 or not ins.endswith("\n"):
                errs.append(f"row {n} inserted missing")
            pos = r["text"].find(ins)
            if pos <= 0 or r["text"][pos - 1] != "\n" or pos + len(ins) >= len(r["text"]):
                errs.append(f"row {n} not at interior line boundary")
            base = r["text"].replace(ins, "", 1)
        else:
            base = r["text"]
        a = int(line) - 1
        bl = split_lines(base)
        if "".join(lines[a:a + len(bl)]) != base:
            errs.append(f"row {n} slice mismatch {r['source']}")
        spans[p].append((a, a + len(bl)))
    for p, sp in spans.items():
        if len(sp) > MAX_PER_FILE:
            errs.append(f"{p} has {len(sp)} windows")
        sp.sort()
        for (a1, b1), (a2, b2) in zip(sp, sp[1:]):
            if a2 < b1:
                errs.append(f"overlap in {p}")
    # items: counts, distinctness, Luhn, mod-97, famous values
    items = items_g.ITEMS
    if len(set(items)) != len(items) or len(items) < 170:
        errs.append(f"items distinct {len(set(items))}/{len(items)}")
    blob_all = []
    for it in items:
        blob = " ".join(str(x) for x in it[2:])
        blob_all.append(blob)
        for f in FAMOUS:
            if f in blob.replace(" ", ""):
                errs.append(f"famous value {f}")
        if re.search(r"555-01\d\d", blob):
            errs.append("555-01xx")
        if it[0] == "financial":
            for m in IBAN_RE.finditer(blob):
                if not mod97(m.group(0)):
                    errs.append(f"IBAN fails mod-97: {m.group(0)}")
            for m in CARD_RE.finditer(IBAN_RE.sub("IBAN", blob)):
                digits = re.sub(r"\D", "", m.group(0))
                if len(digits) in (15, 16) and not luhn(digits):
                    errs.append(f"card fails Luhn: {m.group(0)}")
    n_cards = sum(1 for b in blob_all for m in CARD_RE.finditer(IBAN_RE.sub("IBAN", b))
                  if len(re.sub(r"\D", "", m.group(0))) in (15, 16) and luhn(re.sub(r"\D", "", m.group(0))))
    n_ibans = sum(1 for b in blob_all for m in IBAN_RE.finditer(b) if mod97(m.group(0)))
    # every inserted row carries one hand-written item
    for n, r in enumerate(rows):
        if r["sensitive"]:
            ins = r["inserted"]
            hit = [it for it in items if it[0] == r["category"] and (
                (it[1] == "kv" and it[3] in ins) or (it[1] != "kv" and (it[2] in ins or it[2][2:] in ins)))]
            if not hit:
                errs.append(f"row {n} inserted text is not an item of {r['category']}")
    # inserted code still parses exactly as the original file (perl -c, bash -n, node --check, json)
    langs = {rec[2]: rec[3] for rec in enumerate_files()}
    parse = collections.Counter()
    for n, r in enumerate(rows):
        p = "/" + r["source"].rsplit(":", 1)[0]
        lang = langs.get(p)
        if not r["sensitive"] or lang not in ("perl", "shell", "js", "json"):
            continue
        pos = r["text"].find(r["inserted"])
        k = int(r["source"].rsplit(":", 1)[1]) - 1 + r["text"][:pos].count("\n")
        ok = parses_like_original(lang, p, line_cache[p], k, r["inserted"])
        parse[{True: "same_as_original", False: "BROKEN", None: "original_fails_check"}[ok]] += 1
        if ok is False:
            errs.append(f"row {n} breaks parsing of {p}")
    # per-group cap
    stats = json.load(open(STATS, encoding="utf-8"))
    if max(stats["by_group_top"].values()) > GROUP_CAP:
        errs.append("group cap exceeded")
    if stats["md5"] != md5(OUT):
        errs.append("stats md5 stale")
    print(json.dumps({"rows": len(rows), "errors": errs[:30], "n_errors": len(errs),
                      "parse_check": dict(parse), "cards_luhn_ok": n_cards, "ibans_mod97_ok": n_ibans,
                      "distinct_items": len(set(items)), "md5": md5(OUT)}, indent=1))
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    if "--check" in sys.argv:
        check()
    else:
        build()
