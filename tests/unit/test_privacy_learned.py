"""The learned privacy stage: the pure-Python scorer gives scikit-learn's probabilities,
it reads prose and not code, and the packaged model tells disclosures from questions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from hybridagent.routing.learned import (
    WINDOW_CHARS,
    LearnedModel,
    packaged_model,
    prose_windows,
    window_text,
)
from hybridagent.routing.privacy import DetectorConfig, scan

TOKEN = r"(?u)\b\w+\b"
TEXTS = [
    "my blood test came back and my GP says I have diabetes",
    "the password for my bank is Lemon!Tree42",
    "my daughter Mia was diagnosed with epilepsy last month",
    "use the card my husband gave me, the one ending in his birth year",
    "how long should a password be?",
    "what are the symptoms of diabetes in general?",
    "write a haiku about autumn leaves",
    "explain how IBAN check digits work",
]
LABELS = [1, 1, 1, 1, 0, 0, 0, 0]


def small_table() -> dict[str, object]:
    """A model trained here the way training/privacy/train.py trains the real one."""
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    word = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=TOKEN
    )
    features = hstack([char.fit_transform(TEXTS), word.fit_transform(TEXTS)]).tocsr()
    model = LogisticRegression(C=10.0, max_iter=1000).fit(features, LABELS)
    n_char = len(char.vocabulary_)

    def block(
        vec: TfidfVectorizer, weights: np.ndarray, analyzer: str, grams: list[int]
    ) -> dict[str, object]:
        return {
            "analyzer": analyzer,
            "ngram_range": grams,
            "features": {
                g: [float(vec.idf_[i]), float(weights[i])] for g, i in vec.vocabulary_.items()
            },
        }

    return {
        "version": "test",
        "threshold": 0.5,
        "intercept": float(model.intercept_[0]),
        "blocks": [
            block(char, model.coef_[0][:n_char], "char_wb", [2, 5]),
            block(word, model.coef_[0][n_char:], "word", [1, 2]),
        ],
        "categories": ["health", "authentication"],
        "category_words": {"diabetes": [2.0, 0.0], "password": [0.0, 2.0]},
        "category_intercepts": [0.0, 0.0],
        "sklearn": model,
        "vectorizers": (char, word),
    }


def test_pure_python_scores_equal_scikit_learns() -> None:
    table = small_table()
    char, word = table.pop("vectorizers")  # type: ignore[misc]
    reference = table.pop("sklearn")
    model = LearnedModel.from_table(table)
    probes = [
        *TEXTS,
        "My  GP   said diabetes!! and my password is Tr0ub4dor&3",
        "unseen words only: zyxw qwerty",
        "password " * 300,  # an n-gram repeated past the scorer's table of tf values
    ]
    expected = reference.predict_proba(hstack([char.transform(probes), word.transform(probes)]))[
        :, 1
    ]
    assert [model.probability(p) for p in probes] == pytest.approx(list(expected), abs=1e-9)
    assert model.category("my password leaked") == "authentication"
    assert model.category("diabetes again") == "health"


def test_prose_windows_skip_code_and_keep_comments_and_strings() -> None:
    text = (
        "import os\n"
        "def load(path):\n"
        "    # my wife Lukas was arrested last week in Istanbul\n"
        "    return open(path).read()  # reads the whole file at once\n"
        "x = call(a, b)\n"
        "```\nthese words are in a code block and not read\n```\n"
        "This paragraph is prose a person wrote about the module.\n"
    )
    windows = [text[s:e].strip() for s, e in prose_windows(text)]
    assert "# my wife Lukas was arrested last week in Istanbul" in windows
    assert "reads the whole file at once" in windows
    assert "This paragraph is prose a person wrote about the module." in windows
    assert not any("import" in w or "call(" in w or "not read" in w for w in windows)


def test_a_comment_wrapped_over_lines_is_read_as_one_sentence() -> None:
    text = (
        "def f():\n"
        "    # Per HR, Mira has an approved accommodation for\n"
        "    # her epilepsy; no flashing demos.\n"
        "    return 1\n"
    )
    [(start, end)] = prose_windows(text)
    assert window_text(text, start, end) == (
        "Per HR, Mira has an approved accommodation for her epilepsy; no flashing demos."
    )
    model = packaged_model()
    [(_, _, p)] = model.scored_windows(text)
    assert p == model.probability(window_text(text, start, end))


def test_long_prose_is_read_in_windows_of_sentences() -> None:
    sentence = "This sentence is about nothing in particular and goes on a while. "
    text = sentence * 30 + "\n"
    windows = prose_windows(text)
    assert len(windows) > 4 and all(e - s <= WINDOW_CHARS for s, e in windows)
    assert windows[0][0] == 0 and windows[-1][1] >= len(text.rstrip())


def test_packaged_model_tells_disclosures_from_questions() -> None:
    model = packaged_model()
    assert model.version.startswith("lr-") and 0 < model.threshold < 1
    disclosures = [
        "since my breakdown in march i have been seeing someone every week and my manager "
        "does not know, help me ask for a quiet desk",
        "my son is bullied at Hillcrest Primary and stopped eating, write to his teacher",
    ]
    questions = ["How long should a password be in 2026?", "Write a haiku about autumn leaves."]
    for text in disclosures:
        [finding] = scan(text, learned=model)
        assert finding.stage == "learned" and finding.score is not None
        assert finding.score >= model.threshold
    assert all(scan(text, learned=model) == [] for text in questions)


def test_the_configuration_turns_the_stage_and_categories_off() -> None:
    model = packaged_model()
    text = "my son is bullied at Hillcrest Primary and stopped eating, write to his teacher"
    assert scan(text, learned=model)
    assert scan(text, learned=model, config=DetectorConfig(learned=False)) == []
    assert scan(text, learned=model, config=DetectorConfig(threshold=0.999)) == []
    found = scan(text, learned=model)
    assert all(f.type.startswith("learned_") for f in found)
    off = frozenset({"contact"})  # every category but contact off
    assert scan(text, learned=model, config=DetectorConfig(categories=off)) == []
    # Rules obey the categories too; terms and patterns always count.
    assert scan("card 4111111111111111", config=DetectorConfig(categories=off)) == []
    assert scan("the Bluefin deal", ["Bluefin"], config=DetectorConfig(categories=off))


def test_tool_output_is_left_to_the_rules() -> None:
    text = "my son is bullied at Hillcrest Primary and stopped eating, write to his teacher"
    assert scan(text, learned=packaged_model(), prose=False) == []


def test_the_model_file_ships_in_the_package() -> None:
    path = Path(__file__).resolve().parents[2] / "hybridagent/routing/data/privacy_model.json.gz"
    table = json.loads(gzip.decompress(path.read_bytes()))
    assert table["version"] == packaged_model().version
    assert path.stat().st_size < 3_000_000


def test_everyday_and_historical_questions_are_not_disclosures() -> None:
    # Round 4 (training/privacy/everyday.py): questions that say "my" beside a topic
    # word, typo'd, or about people of history hold no one's private data. Written for
    # this test, not taken from the generator or the evaluation sets. The model before
    # round 4 (lr-979f608de9) flagged the first four at 0.64-0.89.
    model = packaged_model()
    for text in (
        "y dose my fone keep loosing signl in my kitchn",
        "shud i let my bank app remembr my fingerprnt login",
        "is it ok 2 reuse my old pasword 4 a new acount",
        "does my car insurance go up if my windscreen gets cracked",
        "Frédéric Chopin had tuberculosis for years; how did it affect his music?",
    ):
        assert model.findings(text) == [], text
    # ... while the same frames with a fact of someone's life still count.
    for text in (
        "my brother has been secretly gambling away his wages and his wife has no idea",
        "my sistr is pregnant agen and hasnt told her boyfrend, wat do i do",
    ):
        assert model.findings(text), text
