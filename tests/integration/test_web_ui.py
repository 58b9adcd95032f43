"""The web UI (/ui) in Debian's chromium through playwright, on the real stack: the API
under uvicorn in front of a real worker (embedded model as local, the recording stub as
the cloud model), and the API routes the UI needs (sessions listed, streamed replies,
a session's agent changed). Screenshots of every page at 1280 and 390 px go to the
directory the first test prints."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from hybridagent.api import routes_sessions
from hybridagent.api.keys import KeyLimits, open_key_store
from hybridagent.testing.stub_server import StubServer, text_reply
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.fixtures.ollama_admin_server import FakeOllamaAdmin
from tests.integration.test_api import Api, serving_api
from tests.integration.test_ollama_models import HALF, unique_model

CHROMIUM = "/usr/bin/chromium"  # scripts/ensure_chromium.sh; never `playwright install`
WIDTHS = {"wide": 1280, "narrow": 390}
# Replies from SmolLM on a busy 2-core machine: an upper bound, not a wait.
REPLY_MS = 300_000
CARD = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
async def api(worker: RunningWorker) -> AsyncIterator[Api]:
    async with serving_api(worker) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("HYBRIDAGENT_UI_SCREENSHOTS")
    where = Path(given) if given else tmp_path_factory.mktemp("ui-screenshots")
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nweb UI screenshots: {where}")
    return where


async def signed_in(browser: Browser, api: Api, width: int = 1280, key: str | None = None) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(f"{api.url}/ui")
    await page.get_by_label("API key").fill(key or api.key)
    await page.keyboard.press("Enter")  # the form submits from the keyboard
    await expect(page.get_by_role("heading", name="Chat", level=1)).to_be_visible()
    assert errors == []
    return page


# Every control of the page that is shown: where it sits and the name a screen reader
# reads for it (its <label>, aria-label or text).
CONTROLS = """(root) => [...document.querySelectorAll(
        root + ' :is(select, input, button, progress)')]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => {
        const box = el.getBoundingClientRect();
        const label = [...(el.labels ?? [])].map((l) => l.textContent).join(' ')
            || el.getAttribute('aria-label') || el.textContent;
        return { id: el.id || el.name || el.textContent, left: box.left, right: box.right,
                 name: label.trim() };
    })"""


async def fits_the_width(page: Page, root: str) -> list[dict[str, object]]:
    """Asserts that nothing on the page scrolls sideways and every shown control of
    `root` lies within the viewport and has a name; returns the controls."""
    width = await page.evaluate("window.innerWidth")
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    controls: list[dict[str, object]] = await page.evaluate(CONTROLS, root)
    assert controls
    for control in controls:
        assert control["name"], control
        left, right = float(str(control["left"])), float(str(control["right"]))
        assert 0 <= left and right <= width, (control, width)
    return controls


def http(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {api.key}"}, timeout=REPLY_MS / 1000
    )


async def test_sign_in_keeps_the_key_out_of_urls(browser: Browser, api: Api) -> None:
    page = await browser.new_page()
    await page.goto(f"{api.url}/ui")
    await page.get_by_label("API key").fill("not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not valid")
    page = await signed_in(browser, api)
    assert api.key not in page.url
    stored = await page.evaluate("sessionStorage.getItem('hybridagent.apiKey')")
    assert stored == api.key
    assert await page.evaluate("localStorage.length") == 0
    # A reply's Markdown is rendered, and anything that could run is taken out.
    html = await page.evaluate(
        """import('./markdown.js').then(({ renderMarkdown }) => {
            const div = document.createElement('div');
            renderMarkdown(div, '**bold** <img src=x onerror="window.pwned=1">'
                + '<script>window.pwned=2</script> [a](javascript:alert(1))');
            return div.innerHTML;
        })"""
    )
    assert "<strong>bold</strong>" in html
    assert "onerror" not in html and "<script" not in html and "javascript:" not in html
    assert await page.evaluate("window.pwned") is None


async def test_a_streamed_reply_with_its_local_badge(
    browser: Browser, api: Api, stub: StubServer, shots: Path
) -> None:
    page = await signed_in(browser, api)
    models = page.get_by_label("Model")
    await expect(models.locator("option").first).to_have_text("auto")
    await models.select_option("local/smollm2")
    await page.get_by_label("Message", exact=True).fill("Write two sentences about the sea.")
    await page.get_by_label("Message", exact=True).press("Enter")
    reply = page.locator(".message.assistant").last
    badge = reply.locator("button.badge")
    await expect(badge).to_have_text("local · local/smollm2", timeout=REPLY_MS)
    # The text arrived as the model wrote it: more than one delta was shown.
    assert int(await reply.get_attribute("data-pieces") or "0") > 1
    await badge.press("Enter")
    why = reply.locator(".why")
    await expect(why).to_be_visible()
    await expect(why).to_contain_text("Local model")
    link = await why.get_by_role("link").get_attribute("href")
    assert link is not None and "/workflows/session-" in link
    assert stub.requests == []
    # The new session is listed and resumes with its messages.
    session = page.locator("#session-list button.session").first
    await expect(session).to_contain_text("Write two sentences about the sea.")
    await page.screenshot(path=shots / "chat-wide.png")
    await page.get_by_role("button", name="New chat").click()
    await expect(page.locator(".message")).to_have_count(0)
    await session.click()
    await expect(page.locator(".message")).to_have_count(2)
    await expect(page.locator(".message.assistant button.badge")).to_have_text(
        "local · local/smollm2"
    )
    # Another agent mid-session: the session's next messages go to it.
    session_id = await session.get_attribute("data-id")
    await page.get_by_label("Agent").select_option("math-tutor")
    await expect(page.locator("#chat-status")).to_contain_text("math-tutor")
    async with http(api) as client:
        state = (await client.get(f"/v1/sessions/{session_id}")).json()["state"]
    assert state["agent"] == "math-tutor" and state["messages"] == 2


async def test_private_data_stays_local_when_a_cloud_model_is_picked(
    browser: Browser, api: Api, stub: StubServer, shots: Path
) -> None:
    page = await signed_in(browser, api, WIDTHS["narrow"])
    await page.get_by_label("Model").select_option("openai/gpt-4o-mini")
    await page.get_by_label("Message", exact=True).fill(f"My card is {CARD}. Say OK.")
    await page.get_by_role("button", name="Send").click()
    reply = page.locator(".message.assistant").last
    badge = reply.locator("button.badge")
    await expect(badge).to_contain_text("local · ", timeout=REPLY_MS)
    await badge.click()
    why = reply.locator(".why")
    await expect(why).to_contain_text("Private data")
    await expect(why).to_contain_text("stays on local models")
    await page.screenshot(path=shots / "chat-private-narrow.png", full_page=True)
    assert stub.requests == []  # the cloud model never saw the card


async def test_the_agents_page_creates_edits_and_deletes(
    browser: Browser, api: Api, shots: Path
) -> None:
    page = await signed_in(browser, api)
    await page.get_by_role("link", name="Agents").click()
    await expect(page.get_by_role("heading", name="Agents", level=1)).to_be_focused()
    await page.get_by_label("Name", exact=True).fill("ui-helper")
    await page.get_by_label("Description").fill("Answers in one line.")
    await page.get_by_label("Instructions").fill("Answer in one line.")
    await page.get_by_label("Model preference").fill("local/smollm2")
    await page.get_by_role("button", name="Create agent").click()
    row = page.locator("#agents-table tr[data-name='ui-helper']")
    await expect(row).to_contain_text("Answers in one line.")
    async with http(api) as client:
        got = (await client.get("/v1/agents/ui-helper")).json()
    assert got["instructions"] == "Answer in one line." and got["model"] == "local/smollm2"
    await page.screenshot(path=shots / "agents-wide.png", full_page=True)
    await page.get_by_role("button", name="Edit ui-helper").click()
    await page.get_by_label("Instructions").fill("Answer in two lines.")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").first).to_contain_text("Saved ui-helper")
    async with http(api) as client:
        got = (await client.get("/v1/agents/ui-helper")).json()
    assert got["instructions"] == "Answer in two lines."
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export ui-helper").click()
    exported = json.loads(Path(await (await download.value).path()).read_text())
    assert exported["name"] == "ui-helper" and "builtin" not in exported
    await page.set_viewport_size({"width": WIDTHS["narrow"], "height": 900})
    await page.screenshot(path=shots / "agents-narrow.png", full_page=True)
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete ui-helper").click()
    await expect(row).to_have_count(0)
    # The exported file imports it again.
    imported = {**exported, "name": "ui-imported"}
    await page.get_by_label("Import agents from a JSON file").set_input_files(
        files=[{"name": "a.json", "mimeType": "application/json",
                "buffer": json.dumps([imported]).encode()}]
    )  # fmt: skip
    await expect(page.locator("#agents-table tr[data-name='ui-imported']")).to_contain_text(
        "Answers in one line."
    )
    async with http(api) as client:
        assert (await client.delete("/v1/agents/ui-imported")).status_code == 200


async def test_settings_reach_a_new_session_and_the_dashboard_shows_status(
    browser: Browser, api: Api, shots: Path
) -> None:
    page = await signed_in(browser, api)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Privacy level").select_option("max")
    await page.get_by_label("Where models run").select_option("local")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    routing = await page.evaluate("import('./settings.js').then((m) => m.routingForNewSession())")
    assert routing == {"privacy_level": "max", "force_provider": "local"}
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.locator("#status")).to_contain_text("Ready", timeout=30_000)
    await expect(page.locator("#services")).to_contain_text("Temporal: answers")
    await page.set_viewport_size({"width": WIDTHS["narrow"], "height": 900})
    await page.get_by_role("link", name="Chat").click()
    await page.screenshot(path=shots / "chat-narrow.png", full_page=True)


async def test_settings_pull_an_ollama_model_and_show_its_progress(
    browser: Browser, temporal_address: str, tmp_path: Path, shots: Path
) -> None:
    """A worker of its own, on the loopback Ollama of the pull tests, held at 50 %."""
    model = unique_model()
    with FakeOllamaAdmin(installed=("smollm:135m",), registry=(model,), pause_at=HALF) as fake:
        settings = make_settings(temporal_address, tmp_path, ollama_host=fake.host)
        async with running_worker(settings) as worker, serving_api(worker) as api:
            page = await signed_in(browser, api)
            await page.get_by_role("link", name="Settings").click()
            models = page.get_by_role("list", name="Ollama models")
            await expect(models).to_contain_text("smollm:135m", timeout=30_000)
            await page.get_by_label("Ollama model", exact=True).fill(model)
            await page.get_by_role("button", name="Pull").click()
            progress = page.locator("#pull-progress")
            await expect(progress).to_have_attribute("aria-live", "polite")
            await expect(progress).to_contain_text(f"Pulling {model}: downloading", timeout=30_000)
            await expect(progress).to_contain_text("50%", timeout=30_000)
            await expect(page.get_by_role("button", name="Pull")).to_be_disabled()
            await expect(page.get_by_label("Pull progress")).to_have_attribute("value", "50")
            await page.screenshot(path=shots / "settings-wide.png", full_page=True)
            # At 390 px the form and the pull box fit the screen, every control labelled.
            await page.set_viewport_size({"width": WIDTHS["narrow"], "height": 900})
            controls = await fits_the_width(page, "#page-settings")
            assert {c["id"] for c in controls} >= {
                "set-latency_preference", "set-force_provider", "set-privacy_level",
                "set-token_budget", "set-complexity_threshold", "pull-model", "pull-bar",
            }  # fmt: skip
            await page.screenshot(path=shots / "settings-narrow.png", full_page=True)
            await page.set_viewport_size({"width": WIDTHS["wide"], "height": 900})
            fake.release.set()
            await expect(progress).to_have_attribute("data-state", "succeeded", timeout=30_000)
            await expect(progress).to_have_text(f"Pulled {model}.")
            await expect(models.locator(f"li[data-name='{model}']")).to_be_visible()
            assert len(fake.requests_to("/api/pull")) == 1
        # The API is gone with its worker; a page on a worker whose Ollama does not answer
        # says so in one sentence.
    (tmp_path / "closed").mkdir()
    settings = make_settings(temporal_address, tmp_path / "closed")
    async with running_worker(settings) as worker, serving_api(worker) as api:
        page = await signed_in(browser, api)
        await page.get_by_role("link", name="Settings").click()
        await expect(page.locator("#ollama-status")).to_have_text(
            "Ollama is not reachable from the worker, so its models cannot be listed or pulled.",
            timeout=30_000,
        )


async def test_settings_open_the_session_and_stop_ends_the_stream(
    browser: Browser, api: Api, stub: StubServer
) -> None:
    page = await signed_in(browser, api)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Where models run").select_option("local")
    await page.get_by_label("Routing priority").select_option("cost")
    await page.get_by_role("button", name="Save").click()
    await page.get_by_role("link", name="Chat").click()
    await page.get_by_label("Message", exact=True).fill("Write a long story about a lighthouse.")
    async with page.expect_request(
        lambda r: r.url.endswith("/v1/sessions") and r.method == "POST"
    ) as opened:
        await page.get_by_role("button", name="Send").click()
    assert (await opened.value).post_data_json["routing"] == {
        "force_provider": "local",
        "latency_preference": "cost",
    }
    reply = page.locator(".message.assistant").last
    await expect(reply).to_have_attribute("data-pieces", re.compile(r"\d"), timeout=REPLY_MS)
    await page.get_by_role("button", name="Stop").click()
    await expect(reply.locator(".notice")).to_contain_text("Stopped", timeout=10_000)
    await expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    assert await reply.locator("button.badge").count() == 0
    # The Update runs on: the reply lands in the session.
    session = await page.locator("#session-list button.session[aria-current]").get_attribute(
        "data-id"
    )
    async with http(api) as client:
        for _ in range(600):
            found = (await client.get(f"/v1/sessions/{session}")).json()
            if len(found["messages"]) == 2:
                break
            await asyncio.sleep(0.5)  # polling for the reply, not waiting out a race
    assert found["messages"][1]["models"] == ["local/smollm2"]
    assert stub.requests == []


async def test_a_streamed_message_the_session_fails_is_an_error_event(
    api: Api, stub: StubServer
) -> None:
    async with http(api) as client:
        opened = (
            await client.post(
                "/v1/sessions", json={"model": "openai/gpt-4o-mini", "strict": True, "stream": True}
            )
        ).json()
        response = await client.post(
            f"/v1/sessions/{opened['id']}/messages",
            json={"content": f"My card is {CARD}.", "stream": True},
        )
        plain = await client.post(
            f"/v1/sessions/{opened['id']}/messages", json={"content": f"My card is {CARD}."}
        )
    assert response.status_code == 200
    assert response.text.startswith("event: error\n")
    error = json.loads(response.text.split("data: ", 1)[1])["error"]
    assert error["code"] == "privacy_blocked", error
    assert "must stay local" in error["message"]
    # A plain POST says the same, as an error response.
    assert plain.status_code == 422 and plain.json()["error"]["code"] == "privacy_blocked"
    assert stub.requests == []


async def test_sessions_are_listed_for_their_key_only(api: Api) -> None:
    async with http(api) as client:
        opened = (await client.post("/v1/sessions", json={})).json()
        mine = (await client.get("/v1/sessions")).json()["data"]
        other = await client.get(
            "/v1/sessions", headers={"Authorization": f"Bearer {api.slow_key}"}
        )
    row = next(r for r in mine if r["id"] == opened["id"])
    assert row["status"] == "open" and row["agent"] == "general"
    assert row["web_ui_url"] == opened["web_ui_url"]
    assert opened["id"] not in [r["id"] for r in other.json()["data"]]


async def test_a_streamed_message_is_deltas_then_the_reply(api: Api, stub: StubServer) -> None:
    async with http(api) as client:
        opened = (
            await client.post("/v1/sessions", json={"model": "local/smollm2", "stream": True})
        ).json()
        settled_before = len(api.gate.settled)
        events: list[tuple[str, dict[str, object]]] = []
        async with client.stream(
            "POST", f"/v1/sessions/{opened['id']}/messages",
            json={"content": "Name three colours.", "stream": True},
        ) as response:  # fmt: skip
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.append((name, json.loads(line.removeprefix("data: "))))
        # Settled once the reply is in, apart from the response: llama.cpp's stream
        # reports no usage, so the estimate of the message and the reply is charged.
        await asyncio.gather(*routes_sessions._settling)
        assert api.gate.settled[-1] > 0 and len(api.gate.settled) == settled_before + 1
        changed = await client.patch(f"/v1/sessions/{opened['id']}", json={"agent": "haiku"})
        state = (await client.get(f"/v1/sessions/{opened['id']}")).json()["state"]
    names = [n for n, _ in events]
    assert names[-1] == "reply" and names.count("delta") > 1
    reply = events[-1][1]
    # The deltas are the reply as it was written (the last ones may trail the reply).
    assert str(reply["reply"]).startswith(
        "".join(str(d["text"]) for n, d in events if n == "delta")
    )
    assert reply["model"] == "local/smollm2" and reply["route"] == "local"
    assert reply["routing_trail"] and reply["web_ui_url"] == opened["web_ui_url"]
    assert changed.status_code == 200 and state["agent"] == "haiku"
    assert stub.requests == []


async def chat(page: Page, model: str, text: str) -> None:
    await page.get_by_role("button", name="New chat").click()
    await page.get_by_label("Model").select_option(model)
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send").click()
    badge = page.locator(".message.assistant").last.locator("button.badge")
    await expect(badge).to_contain_text(model, timeout=REPLY_MS)


async def test_the_dashboard_shows_the_calls_just_made(
    browser: Browser, api: Api, worker: RunningWorker, stub: StubServer, shots: Path
) -> None:
    store = open_key_store(worker.settings)
    try:
        _, key = store.create("dashboard-ui", KeyLimits(budget_usd=2.0))
    finally:
        store.close()
    page = await signed_in(browser, api, key=key)
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.locator("#usage-note")).to_contain_text("No model calls")
    stub.reply = text_reply("Hello from the cloud.")
    await page.get_by_role("link", name="Chat").click()
    await chat(page, "local/smollm2", "Name one colour.")
    await chat(page, "openai/gpt-4o-mini", "Say hello.")
    cloud_calls = len(stub.requests)
    assert cloud_calls >= 1
    await page.get_by_role("link", name="Dashboard").click()
    figures = page.locator("#usage-summary")
    await expect(figures.locator("[data-figure=cloud]")).to_have_text(str(cloud_calls))
    async with http(api) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        usage = (await client.get("/v1/usage", params={"by": "model"})).json()
    total = usage["total"]
    # What the page shows is the ledger's: each cloud call reached the stub, the rest ran
    # on the embedded model, whose calls saved what the reference model would cost.
    assert total["cloud_calls"] == cloud_calls and total["local_calls"] >= 1
    assert {row["key"] for row in usage["data"]} == {"local/smollm2", "openai/gpt-4o-mini"}
    assert total["savings_usd"] > 0 and total["cost_usd"] > 0, [
        sorted(r.items()) for r in usage["data"]
    ]
    await expect(figures.locator("[data-figure=calls]")).to_have_text(str(total["calls"]))
    await expect(figures.locator("[data-figure=local]")).to_have_text(str(total["local_calls"]))
    savings = await figures.locator("[data-figure=savings]").inner_text()
    assert savings.startswith("$") and float(savings[1:]) == pytest.approx(
        total["savings_usd"],
        abs=5e-7,  # shown to the millionth of a dollar
    )
    await expect(figures.locator("[data-figure=budget]")).to_contain_text("of $2.00,")
    local_row = page.locator("#models-table tr[data-key='local/smollm2']")
    await expect(local_row).to_contain_text(str(total["local_calls"]))
    await expect(page.locator("#agents-usage-table")).to_contain_text("general")
    # The chart says the same in words, and its table lists the hour.
    desc = page.locator("#hourly-svg-desc")
    await expect(desc).to_contain_text(f"{cloud_calls} on cloud models")
    await page.get_by_text("The chart as a table").click()
    cells = page.locator("#hours-table tbody tr td")
    local_sum = sum(int(t) for t in (await cells.all_inner_texts())[0::2])
    assert local_sum == total["local_calls"]
    await expect(page.locator("#services")).to_contain_text("Embedded model")
    await page.screenshot(path=shots / "dashboard-wide.png", full_page=True)
    await page.set_viewport_size({"width": WIDTHS["narrow"], "height": 900})
    await page.screenshot(path=shots / "dashboard-narrow.png", full_page=True)
    # Resume the older (local) session from the dashboard: the newest is the cloud one.
    resume = page.get_by_role("button", name="Resume Name one colour.")
    await expect(page.locator("#recent-sessions button")).to_have_count(2)
    await resume.click()
    await expect(page.get_by_role("heading", name="Chat", level=1)).to_be_visible()
    await expect(page.locator("#chat-status")).to_contain_text("Resumed")
    await expect(page.locator(".message")).to_have_count(2)
    await expect(page.locator(".message.assistant button.badge")).to_have_text(
        "local · local/smollm2"
    )
    assert page.url.endswith("#/chat")
