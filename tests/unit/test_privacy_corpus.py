"""The learned stage's synthetic corpus: seeded, every category and kind, and the breadth
of round 3 (other languages, notes about colleagues) actually in the rows."""

from __future__ import annotations

from functools import cache

from hybridagent.routing.categories import CATEGORIES
from training.privacy.breadth import EXTRA, VOCAB
from training.privacy.corpus import NEGATIVE_KINDS, POSITIVE_KINDS, TEMPLATES, Row, generate


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
