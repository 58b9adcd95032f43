"""The learned stage's synthetic corpus: seeded, every category and kind, and the breadth
of round 3 (other languages, notes about colleagues) and the everyday, typo'd and
historical-people negatives of round 4 actually in the rows."""

from __future__ import annotations

from functools import cache

from hybridagent.routing.categories import CATEGORIES
from training.privacy.breadth import EXTRA, VOCAB
from training.privacy.corpus import NEGATIVE_KINDS, POSITIVE_KINDS, TEMPLATES, Row, generate
from training.privacy.everyday import EVERYDAY


@cache
def rows() -> tuple[Row, ...]:
    return tuple(generate())


def test_the_corpus_is_the_same_for_the_same_seed() -> None:
    assert generate()[:200] == list(rows()[:200])
    assert generate(seed=1)[:50] != list(rows()[:50])


def test_every_category_has_every_kind() -> None:
    kinds = {(row.category, row.kind) for row in rows()}
    for category in CATEGORIES:
        for kind in (*POSITIVE_KINDS, *NEGATIVE_KINDS):
            if kind != "generic":
                assert (category, kind) in kinds, (category, kind)


def test_the_breadth_templates_are_merged_and_filled() -> None:
    for category, kinds in EXTRA.items():
        for kind, templates in kinds.items():
            assert set(templates) <= set(TEMPLATES[category][kind])
    texts = [row.text for row in rows()]
    # Per-language words reach the rows (an unknown slot raises while rendering).
    for slot in ("de_condition", "fr_relative", "pl_condition", "nl_other"):
        assert any(word in text for text in texts for word in VOCAB[slot]), slot
    sensitive_notes = [r for r in rows() if r.sensitive and r.text.startswith("# ")]
    assert len(sensitive_notes) > 100  # facts about colleagues in code comments


def test_the_everyday_negatives_are_merged_and_labelled_negative() -> None:
    for category, kinds in EVERYDAY.items():
        for kind, templates in kinds.items():
            assert kind in NEGATIVE_KINDS, (category, kind)
            assert set(templates) <= set(TEMPLATES[category][kind])
    negatives = [row for row in rows() if not row.sensitive]
    # Historical and public people, filled in, reach the rows as negatives only.
    for slot in ("hist_she", "hist_he", "public_person", "fic_char"):
        assert any(name in row.text for row in negatives for name in VOCAB[slot]), slot
        assert not any(
            name in row.text for row in rows() if row.sensitive for name in VOCAB[slot]
        ), slot
    # Typo'd questions are no longer a handful per category.
    for category in EVERYDAY:
        typo_questions = [
            r for r in negatives if (r.category, r.kind) == (category, "typo_question")
        ]
        assert len(typo_questions) >= 200, category
