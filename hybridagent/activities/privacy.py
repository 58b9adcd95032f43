"""The privacy detector as a local activity: the verdict on each new part of a model
call's input is computed here and recorded in the history, so a run replays the same
routing whatever detector or model the worker runs later (DESIGN.md, Privacy).
"""

from __future__ import annotations

from temporalio import activity

from hybridagent.activity_io import SCAN_PRIVACY, PrivacyScanRequest, PrivacyScanResult
from hybridagent.routing.learned import LearnedModel, packaged_model
from hybridagent.routing.privacy import scan_parts


class PrivacyActivities:
    def __init__(self, model: LearnedModel | None = None) -> None:
        """`model`: the learned stage's model (default: the one in the package)."""
        self._model = model

    def model(self) -> LearnedModel:
        if self._model is None:
            self._model = packaged_model()
        return self._model

    @activity.defn(name=SCAN_PRIVACY)
    async def scan_privacy(self, request: PrivacyScanRequest) -> PrivacyScanResult:
        """Findings per part. Idempotent: a pure function of its input and the model."""
        config = request.privacy.detector_config()
        model = self.model() if config.learned else None
        found = scan_parts(
            [(part.text, part.prose) for part in request.parts],
            request.terms,
            request.patterns,
            config=config,
            learned=model,
        )
        return PrivacyScanResult(
            types=[sorted({f.type for f in findings}) for findings in found],
            scores=[
                max((f.score for f in findings if f.score is not None), default=None)
                for findings in found
            ],
            model_version=model.version if model else None,
        )
