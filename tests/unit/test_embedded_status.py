"""What `health` and `models` say of the embedded server: one summary, so the two views
agree even when the worker's probe and the supervisor's state disagree for a moment."""

from __future__ import annotations

from hybridagent.providers.registry import worker_embedded_listing
from hybridagent.worker_health import EmbeddedStatus


def status(**fields: object) -> EmbeddedStatus:
    base: dict[str, object] = {"endpoint": "http://127.0.0.1:1/v1", "supervised": True}
    return EmbeddedStatus.model_validate({**base, **fields})


def test_up_and_answering() -> None:
    up = status(reachable=True, pid=42, restarts=1, last_reason="killed by SIGKILL")
    assert up.summary() == "up (pid 42, 1 restart; last: killed by SIGKILL)"
    listing = worker_embedded_listing(up)
    assert listing.reachable and listing.detail == up.summary()


def test_up_but_not_answering_says_both_in_health_and_models() -> None:
    silent = status(reachable=False, pid=42, restarts=1, detail="ConnectError")
    assert silent.summary() == "up (pid 42, 1 restart); not answering (ConnectError)"
    listing = worker_embedded_listing(silent)
    assert not listing.reachable and listing.detail == silent.summary()
    assert listing.models == []


def test_restarting() -> None:
    restarting = status(reachable=False, state="restarting", last_reason="killed by SIGKILL.")
    assert restarting.summary() == "restarting (killed by SIGKILL; 0 restarts so far)"
