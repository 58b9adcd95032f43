"""`hybridagent kb`: fill and search the knowledge base the research tools read."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from hybridagent.config import ConfigError, load_settings
from hybridagent.storage import Storage, open_storage
from hybridagent.storage.ingest import IngestError, read_text

kb_app = typer.Typer(
    rich_markup_mode=None,
    help="The knowledge base: add .txt, .md and .pdf files, list and search them.",
    no_args_is_help=True,
)
_err = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _storage() -> Storage:
    try:
        settings = load_settings()
        return open_storage(settings.database_url, settings.state_dir)
    except ConfigError as err:
        _fail(str(err))
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        _fail(f"Cannot open the database: {reason.rstrip('.')}.")


@kb_app.command("add")
def kb_add(
    files: Annotated[list[Path], typer.Argument(help="Text, Markdown or PDF files.")],
) -> None:
    """Add files (chunked for search); all of them or, on any bad file, none."""
    # pypdf logs each flaw it works around; the command reports only what stops it.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        documents = [(path.name, str(path), read_text(path)) for path in files]
    except IngestError as err:
        _fail(str(err))
    storage = _storage()
    try:
        for doc in storage.add_documents(documents):
            typer.echo(f"{doc.id}  {doc.title}  ({doc.chunks} chunks)")
    finally:
        storage.close()


@kb_app.command("list")
def kb_list() -> None:
    """The documents in the knowledge base."""
    storage = _storage()
    try:
        documents = storage.list_documents()
    finally:
        storage.close()
    for doc in documents:
        typer.echo(f"{doc.id}  {doc.title}  ({doc.chunks} chunks)  {doc.source}")
    if not documents:
        typer.echo("The knowledge base is empty: add files with `hybridagent kb add FILE...`.")


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="Words to look for.")],
    limit: Annotated[int, typer.Option(min=1, max=20)] = 5,
) -> None:
    """The passages the search_knowledge_base tool would return."""
    storage = _storage()
    try:
        typer.echo(str(storage.search(query, limit)))
    finally:
        storage.close()
