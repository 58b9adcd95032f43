"""Builds hybridagent/routing/data/privacy_model.json.gz, the learned privacy stage.

    .venv/bin/python -m training.privacy.train             # writes the model file
    .venv/bin/python -m training.privacy.train --out FILE  # a model of one's own elsewhere

It prints figures on a held-out fifth of the training rows first (a model fitted on the
other four fifths), then fits the shipped model on all of them.

Training rows: the synthetic corpus (training/privacy/corpus.py) plus, as negatives,
prose windows of the Python standard library's docstrings and comments (developer
prose the detector must leave alone). Nothing from tests/data/ is read: those are the
evaluation sets. Seeded throughout, so the same corpus, Python and scikit-learn give the
same file. scikit-learn is a dev dependency; the package scores the table in pure Python.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import sysconfig
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from hybridagent.routing.categories import CATEGORIES
from hybridagent.routing.learned import MODEL_FILE, LearnedModel, prose_windows, window_text
from training.privacy.corpus import Row, generate, typo

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "hybridagent" / "routing" / "data" / MODEL_FILE
SEED = 20261202
TARGET_FPR = 0.03  # reported: the threshold at which this share of held-out rows is flagged
# The model's threshold. Round 1 chose 0.6 on tests/data/privacy_eval/short.jsonl and
# long.jsonl; round 3 (2026-12-03, the breadth in training/privacy/breadth.py) chose 0.5
# looking at all six sets there, which are all development sets now: 0.5 keeps every
# short set's FPR under 0.10 with typo'd recall above 0.90. Round 4 (the everyday, typo'd
# and historical-people negatives of training/privacy/everyday.py) pushed typo'd and
# contextual scores down with the false alarms; 0.42, chosen on the development sets
# short..short_f and long..long_f, gives back their recall and keeps most of the FPR
# gain (0.40 kept a little more typo'd recall but flagged three more clean long_d
# chunks; 0.45 lost typo'd recall on short and short_c). The synthetic rows are too easy
# to set it on: 3% of their negatives are flagged at a far lower threshold.
THRESHOLD = 0.42
STDLIB_WINDOWS = 6000
AUGMENT_SHARE = 0.3  # of direct, topic and generic rows, copied with heavy obfuscation
HEAVY_TYPO = 3.0
# Character 2-4-grams: as good as 2-5 on the development sets with half the features
# and a quarter fewer n-grams to look up per window (the learned stage's cost).
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 3, "max_features": 30000}
WORD = {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2, "max_features": 30000}
TOKEN = r"(?u)\b\w+\b"


def stdlib_windows(rng: random.Random, count: int) -> list[str]:
    """Prose windows (docstrings, comments) of the standard library: developer prose."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p for p in lib.rglob("*.py") if "test" not in p.parts and "idlelib" not in p.parts
    )
    rng.shuffle(files)
    windows: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for start, end in prose_windows(text):
            window = window_text(text, start, end)
            if len(window) >= 30:
                windows.append(window)
        if len(windows) >= count * 3:
            break
    rng.shuffle(windows)
    return windows[:count]


def vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    return (
        TfidfVectorizer(sublinear_tf=True, lowercase=True, dtype=np.float64, **CHAR),
        TfidfVectorizer(sublinear_tf=True, lowercase=True, token_pattern=TOKEN, dtype=np.float64,
                        **WORD),
    )  # fmt: skip


def fit(texts: list[str], labels: list[int]) -> tuple[Any, Any, LogisticRegression]:
    char, word = vectorizers()
    features = hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()
    model = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced", random_state=SEED)
    model.fit(features, labels)
    return char, word, model


def block(
    vectorizer: TfidfVectorizer, weights: np.ndarray, config: dict[str, Any]
) -> dict[str, Any]:
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    idf = vectorizer.idf_
    return {
        "analyzer": config["analyzer"],
        "ngram_range": list(config["ngram_range"]),
        "features": {
            gram: [round(float(idf[i]), 5), round(float(weights[i]), 6)]
            for gram, i in sorted(vocabulary.items())
        },
    }


def category_table(texts: list[str], categories: list[str]) -> dict[str, Any]:
    """A multinomial model on word presence, for naming the category of a positive."""
    counts = CountVectorizer(binary=True, token_pattern=TOKEN, min_df=2, lowercase=True)
    features = counts.fit_transform(texts)
    model = LogisticRegression(C=2.0, max_iter=3000, random_state=SEED)
    model.fit(features, categories)
    classes = [str(c) for c in model.classes_]
    order = [classes.index(c) for c in CATEGORIES]
    vocabulary: dict[str, int] = counts.vocabulary_
    return {
        "categories": list(CATEGORIES),
        "category_words": {
            word: [round(float(model.coef_[k, i]), 5) for k in order]
            for word, i in sorted(vocabulary.items())
        },
        "category_intercepts": [round(float(model.intercept_[k]), 5) for k in order],
    }


_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def spell_digits(text: str) -> str:
    """Runs of four or more digits written out as words, as people do to dodge filters."""
    return re.sub(
        r"\d(?:[\d \-]*\d){3,}",
        lambda m: " ".join(
            _DIGIT_WORDS[int(c)] if c.isdigit() else "," for c in m.group() if c != " "
        ),
        text,
    )


def augmented(corpus: list[Row], rng: random.Random) -> list[Row]:
    """Harder obfuscation than the corpus's own typo rows (most words garbled, digits
    written as words), on both sides: positives so the model reads through it, negatives
    so it does not learn that garbled text is private."""
    extra: list[Row] = []
    for row in corpus:
        if row.kind not in ("direct", "topic", "generic") or rng.random() > AUGMENT_SHARE:
            continue
        text = typo(row.text, rng, strength=HEAVY_TYPO)
        if row.sensitive and rng.random() < 0.5 and re.search(r"\d{4}", row.text):
            text = spell_digits(row.text)
        kind = "typo" if row.sensitive else "typo_question"
        extra.append(Row(text, row.sensitive, row.category, kind))
    return extra


def rows() -> tuple[list[str], list[int], list[str], list[str]]:
    """Texts, labels, categories and kinds of every training row."""
    rng = random.Random(SEED)
    corpus = generate(SEED)
    corpus += augmented(corpus, rng)
    texts = [row.text for row in corpus]
    labels = [int(row.sensitive) for row in corpus]
    categories = [row.category for row in corpus]
    kinds = [row.kind for row in corpus]
    for window in stdlib_windows(rng, STDLIB_WINDOWS):
        texts.append(window)
        labels.append(0)
        categories.append("none")
        kinds.append("stdlib")
    return texts, labels, categories, kinds


def threshold_for(scores: np.ndarray, labels: np.ndarray) -> float:
    negatives = np.sort(scores[labels == 0])
    return float(negatives[int(len(negatives) * (1 - TARGET_FPR))])


def report(texts: list[str], labels: list[int], kinds: list[str]) -> None:
    """Held-out figures on a fifth of the training rows, at the model's threshold."""
    rng = random.Random(SEED)
    order = list(range(len(texts)))
    rng.shuffle(order)
    cut = len(order) // 5
    test, train = order[:cut], order[cut:]
    char, word, model = fit([texts[i] for i in train], [labels[i] for i in train])
    held = [texts[i] for i in test]
    truth = np.array([labels[i] for i in test])
    features = hstack([char.transform(held), word.transform(held)]).tocsr()
    scores = model.predict_proba(features)[:, 1]
    easy = threshold_for(scores, truth)
    threshold = THRESHOLD
    flagged = scores >= threshold
    auc = roc_auc_score(truth, scores)
    print(f"held-out fifth of the training rows: {len(test)} rows, AUC {auc:.3f}")
    print(f"threshold {threshold:.3f}; threshold at {TARGET_FPR:.0%} FPR on these rows {easy:.3f}")
    for kind in sorted(set(kinds)):
        picked = [j for j, i in enumerate(test) if kinds[i] == kind]
        if picked:
            rate = float(np.mean(flagged[picked]))
            label = "recall" if truth[picked[0]] else "flagged"
            print(f"  {kind:14} {len(picked):5} rows  {label} {rate:.3f}")


def build(texts: list[str], labels: list[int], categories: list[str]) -> dict[str, Any]:
    char, word, model = fit(texts, labels)
    weights = model.coef_[0]
    n_char = len(char.vocabulary_)
    positives = [(t, c) for t, c, y in zip(texts, categories, labels, strict=True) if y]
    table: dict[str, Any] = {
        "threshold": THRESHOLD,
        "intercept": round(float(model.intercept_[0]), 6),
        "blocks": [block(char, weights[:n_char], CHAR), block(word, weights[n_char:], WORD)],
        **category_table([t for t, _ in positives], [c for _, c in positives]),
    }
    digest = hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()[:10]
    table["version"] = f"lr-{digest}"
    table["trained_on"] = {"rows": len(texts), "positives": sum(labels)}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    texts, labels, categories, kinds = rows()
    report(texts, labels, kinds)
    table = build(texts, labels, categories)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    args.out.write_bytes(gzip.compress(payload, mtime=0))
    model = LearnedModel.from_table(table)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), version {model.version}")


if __name__ == "__main__":
    sys.exit(main())
