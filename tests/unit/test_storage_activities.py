"""Each knowledge-base, task and memory activity against real SQLite and a real
PostgreSQL server (tests/postgres.py), through temporalio's ActivityEnvironment."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from hybridagent.activities.storage import (
    CompleteTaskRequest,
    CreateTaskRequest,
    ListTasksRequest,
    RecallRequest,
    RememberRequest,
    SaveChatMessagesRequest,
    StorageActivities,
    UpdateTaskRequest,
)
from hybridagent.storage import Storage, open_storage
from hybridagent.storage.models import ChatMessage

REFUNDS = (
    "Refund policy\n\nCustomers may return any item within 30 days for a full refund.\n\n"
    "Refunds are paid to the original card within five working days."
)
SHIPPING = "Shipping\n\nParcels to Norway take two weeks by sea freight."


@pytest.fixture
def acts(storage: Storage) -> StorageActivities:
    return StorageActivities(storage)


env = ActivityEnvironment()


async def fails_with(type_name: str, coro: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await coro  # type: ignore[misc]
    assert caught.value.type == type_name
    assert caught.value.non_retryable
    return caught.value


def test_migrations_are_recorded_and_not_reapplied(storage: Storage, tmp_path: Path) -> None:
    again = Storage(storage.engine)
    with storage.transaction() as conn:
        from hybridagent.storage.migrations import migrate

        assert migrate(conn) == 6
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    assert versions == [1, 2, 3, 4, 5, 6]
    assert again.list_documents() == []


def test_sqlite_database_is_in_wal_mode_under_the_state_dir(tmp_path: Path) -> None:
    store = open_storage(None, tmp_path / "state")
    with store.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # NORMAL (1): no fsync per commit, which the usage ledger pays on every call.
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    assert (tmp_path / "state" / "hybridagent.db").is_file()
    store.close()


async def test_search_knowledge_base_ranks_the_matching_passage_first(
    storage: Storage, acts: StorageActivities
) -> None:
    refunds = storage.add_document("refunds.md", "refunds.md", REFUNDS)
    storage.add_document("shipping.md", "shipping.md", SHIPPING)
    found = await env.run(acts.search_knowledge_base, "How do refunds work?", 5)
    assert found.startswith(f"[{refunds.id} · refunds.md")
    assert "30 days" in found
    assert "Norway" not in found
    shipping = await env.run(acts.search_knowledge_base, "parcels to Norway", 5)
    first_hit = shipping.split("\n\n[", 1)[0]
    assert "· shipping.md ·" in first_hit and "two weeks" in first_hit


async def test_search_takes_query_syntax_as_plain_words(
    storage: Storage, acts: StorageActivities
) -> None:
    storage.add_document("refunds.md", "refunds.md", REFUNDS)
    found = await env.run(acts.search_knowledge_base, 'refund" AND (NEAR* OR -', 3)
    assert "30 days" in found
    nothing = await env.run(acts.search_knowledge_base, "zeppelin", 3)
    assert nothing == "No knowledge-base passage matches 'zeppelin'."
    assert "No knowledge-base" in await env.run(acts.search_knowledge_base, "?!", 3)


async def test_adding_the_same_text_again_replaces_it(storage: Storage) -> None:
    first = storage.add_document("a", "a.md", REFUNDS)
    second = storage.add_document("a again", "b.md", REFUNDS)
    assert first.id == second.id
    assert [d.title for d in storage.list_documents()] == ["a again"]
    assert len(storage.search("refund", 10).hits) == first.chunks


async def test_retrieve_document(storage: Storage, acts: StorageActivities) -> None:
    doc = storage.add_document("refunds.md", "refunds.md", REFUNDS)
    full = await env.run(acts.retrieve_document, doc.id)
    assert full.startswith(f"# refunds.md ({doc.id})") and full.endswith("five working days.")
    err = await fails_with("NotFound", env.run(acts.retrieve_document, "doc-nope"))
    assert err.message == "There is no document 'doc-nope' in the knowledge base."


async def test_create_task_is_idempotent_per_id(acts: StorageActivities) -> None:
    request = CreateTaskRequest(
        user="ann", task_id="t-1", title=" Buy milk ", notes="oat", due="2026-12-01"
    )
    first = await env.run(acts.create_task, request)
    retried = await env.run(acts.create_task, request)
    assert retried == first
    assert (first.title, first.notes, first.status, first.due) == (
        "Buy milk",
        "oat",
        "open",
        "2026-12-01",
    )
    listed = await env.run(acts.list_tasks, ListTasksRequest(user="ann"))
    assert [t.id for t in listed.tasks] == ["t-1"]


async def test_create_task_rejects_bad_input_without_retry(acts: StorageActivities) -> None:
    bad_due = CreateTaskRequest(user="ann", task_id="t-2", title="x", due="next friday")
    err = await fails_with("InvalidToolInput", env.run(acts.create_task, bad_due))
    assert err.message == "A due date must be YYYY-MM-DD, e.g. 2026-03-31."
    no_title = CreateTaskRequest(user="ann", task_id="t-3", title="  ")
    await fails_with("InvalidToolInput", env.run(acts.create_task, no_title))
    assert (await env.run(acts.list_tasks, ListTasksRequest(user="ann"))).tasks == []


async def test_list_tasks_by_status_and_user(acts: StorageActivities) -> None:
    for task_id, user in (("a", "ann"), ("b", "ann"), ("c", "bob")):
        await env.run(
            acts.create_task, CreateTaskRequest(user=user, task_id=task_id, title=task_id)
        )
    await env.run(acts.complete_task, CompleteTaskRequest(user="ann", task_id="b"))
    open_ = await env.run(acts.list_tasks, ListTasksRequest(user="ann", status="open"))
    done = await env.run(acts.list_tasks, ListTasksRequest(user="ann", status="done"))
    every = await env.run(acts.list_tasks, ListTasksRequest(user="ann", status="all"))
    assert [t.id for t in open_.tasks] == ["a"]
    assert [t.id for t in done.tasks] == ["b"]
    assert sorted(t.id for t in every.tasks) == ["a", "b"]
    assert str(done) == "[done] b (id b)"
    await fails_with("InvalidToolInput", env.run(acts.list_tasks, ListTasksRequest(status="later")))
    assert str(await env.run(acts.list_tasks, ListTasksRequest(user="carol"))) == "No tasks."


async def test_update_task_sets_only_given_fields(acts: StorageActivities) -> None:
    await env.run(
        acts.create_task, CreateTaskRequest(user="ann", task_id="t", title="Draft", notes="n")
    )
    request = UpdateTaskRequest(user="ann", task_id="t", title="Final", due="2027-01-31")
    updated = await env.run(acts.update_task, request)
    assert (updated.title, updated.notes, updated.due, updated.status) == (
        "Final",
        "n",
        "2027-01-31",
        "open",
    )
    again = await env.run(acts.update_task, request)
    assert (again.title, again.due) == ("Final", "2027-01-31")
    reopened = await env.run(
        acts.update_task, UpdateTaskRequest(user="ann", task_id="t", status="done")
    )
    assert reopened.status == "done"


async def test_tasks_of_another_user_are_not_found(acts: StorageActivities) -> None:
    await env.run(acts.create_task, CreateTaskRequest(user="ann", task_id="t", title="x"))
    err = await fails_with(
        "NotFound", env.run(acts.complete_task, CompleteTaskRequest(user="bob", task_id="t"))
    )
    assert err.message == "There is no task 't' for user 'bob'."
    await fails_with(
        "NotFound",
        env.run(acts.update_task, UpdateTaskRequest(user="bob", task_id="t", title="y")),
    )


async def test_complete_task_twice_is_done_once(acts: StorageActivities) -> None:
    await env.run(acts.create_task, CreateTaskRequest(user="ann", task_id="t", title="x"))
    first = await env.run(acts.complete_task, CompleteTaskRequest(user="ann", task_id="t"))
    second = await env.run(acts.complete_task, CompleteTaskRequest(user="ann", task_id="t"))
    assert first.status == second.status == "done"


async def test_remember_and_recall_per_user(acts: StorageActivities) -> None:
    fact = RememberRequest(user="ann", memory_id="m1", text="Ann prefers green tea.")
    await env.run(acts.remember, fact)
    await env.run(acts.remember, fact)  # a retry: stored once
    await env.run(
        acts.remember, RememberRequest(user="ann", memory_id="m2", text="Ann lives in Oslo.")
    )
    await env.run(
        acts.remember, RememberRequest(user="bob", memory_id="m3", text="Bob likes tea too.")
    )
    tea = await env.run(acts.recall, RecallRequest(user="ann", query="What TEA?"))
    assert [m.id for m in tea.memories] == ["m1"]
    everything = await env.run(acts.recall, RecallRequest(user="ann", query=""))
    assert sorted(m.id for m in everything.memories) == ["m1", "m2"]
    assert str(await env.run(acts.recall, RecallRequest(user="zoe"))) == "Nothing remembered yet."
    await fails_with(
        "InvalidToolInput",
        env.run(acts.remember, RememberRequest(user="ann", memory_id="m4", text=" ")),
    )


async def test_chat_messages_are_saved_once_in_order(acts: StorageActivities) -> None:
    first = [
        ChatMessage(role="user", content="Hello"),
        ChatMessage(role="assistant", content="Hi!", agent="general", models=["local/x"]),
    ]
    request = SaveChatMessagesRequest(session_id="chat-1", first_seq=0, messages=first)
    assert await env.run(acts.save_chat_messages, request) == 2
    # A retried save, and a later one that overlaps it, store nothing twice.
    await env.run(acts.save_chat_messages, request)
    later = [first[1], ChatMessage(role="user", content="And then?")]
    await env.run(
        acts.save_chat_messages,
        SaveChatMessagesRequest(session_id="chat-1", first_seq=1, messages=later),
    )
    await env.run(
        acts.save_chat_messages,
        SaveChatMessagesRequest(session_id="chat-2", first_seq=0, messages=first[:1]),
    )
    stored = acts.storage.chat_messages("chat-1")
    assert stored == [(0, first[0]), (1, first[1]), (2, later[1])]
    assert acts.storage.chat_messages("chat-2") == [(0, first[0])]
    assert acts.storage.chat_messages("chat-none") == []


def test_a_version_1_database_gains_the_chat_transcript(storage: Storage) -> None:
    from hybridagent.storage.migrations import migrate

    with storage.transaction() as conn:  # back to what the first release created
        conn.execute(text("DROP TABLE chat_messages"))
        conn.execute(text("DROP TABLE api_keys"))
        conn.execute(text("DROP TABLE usage_calls"))
        conn.execute(text("DROP TABLE usage_hourly"))
        conn.execute(text("DELETE FROM schema_version WHERE version >= 2"))
    with storage.transaction() as conn:
        assert migrate(conn) == 6
    storage.save_chat_messages("chat-1", 0, [ChatMessage(role="user", content="Hi")])
    assert len(storage.chat_messages("chat-1")) == 1
