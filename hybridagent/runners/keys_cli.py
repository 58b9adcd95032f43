"""`hybridagent keys`: create, list and revoke the HTTP API's keys.

`create` prints the key alone on standard output, once (`KEY=$(hybridagent keys create
ci)` captures it); everything else goes to standard error. Nothing can show a key
again: the database holds only its keyed hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from hybridagent.api.keys import ApiKey, KeyStore, limits_for, open_key_store
from hybridagent.config import load_settings
from hybridagent.entry import fail, run_cli_command, table_console

T = TypeVar("T")

keys_app = typer.Typer(
    rich_markup_mode=None,
    help="API keys for `hybridagent serve`: create (shown once), list, revoke.",
    no_args_is_help=True,
)
_err = Console(stderr=True)


def _with_store(action: Callable[[KeyStore], T]) -> T:
    """Run `action` on the configured key store; a database failure is one sentence."""

    def run() -> T:
        store = open_key_store(load_settings())
        try:
            return action(store)
        finally:
            store.close()

    try:
        result: T = run_cli_command(run)
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        fail(f"Cannot use the database: {reason.rstrip('.')}.")
    return result


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A name for the key, unique.")],
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute.")] = None,
    max_concurrent: Annotated[
        int | None, typer.Option(min=1, help="Requests running at once.")
    ] = None,
    budget_usd: Annotated[float | None, typer.Option(min=0, help="Lifetime spend, in USD.")] = None,
    tier: Annotated[
        str | None, typer.Option(help="A preset from [api.tiers.<name>]; flags override it.")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", help="A model name pattern the key may use, like local/* (repeat)."
        ),
    ] = None,
) -> None:
    """Create a key; it is printed once, alone on standard output."""

    def create(store: KeyStore) -> tuple[ApiKey, str]:
        tiers = load_settings().api.tiers
        limits, models = limits_for(
            tiers, tier, rpm=rpm, tpm=tpm, max_concurrent=max_concurrent,
            budget_usd=budget_usd, models=model or (),
        )  # fmt: skip
        return store.create(name, limits, tier=tier, models=models)

    record, secret = _with_store(create)
    _err.print(
        f"Created key {record.name!r} ({_limits(record)}). It is shown once, below; store it now.",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(secret)


def _limits(key: ApiKey) -> str:
    lim = key.limits
    parts = [
        f"{lim.rpm} rpm" if lim.rpm else "",
        f"{lim.tpm} tpm" if lim.tpm else "",
        f"{lim.max_concurrent} concurrent" if lim.max_concurrent else "",
        f"${lim.budget_usd:g} budget" if lim.budget_usd is not None else "",
    ]
    return ", ".join(p for p in parts if p) or "no limits"


@keys_app.command("list")
def keys_list() -> None:
    """Every key with its limits; never a key itself."""
    keys = _with_store(lambda store: store.list())
    if not keys:
        _err.print("There are no keys: create one with `hybridagent keys create NAME`.")
        return
    table = Table("name", "prefix", "limits", "tier", "models", "created", "status")
    for key in keys:
        status = f"revoked {key.revoked_at[:10]}" if key.revoked_at else "live"
        models = " ".join(key.models) or "any"
        table.add_row(
            key.name, key.prefix + "…", _limits(key), key.tier or "", models,
            key.created_at[:10], status,
        )  # fmt: skip
    table_console().print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: requests with it are refused from now on. The record stays."""
    record, changed = _with_store(lambda store: store.revoke(name))
    if changed:
        _err.print(f"Revoked key {record.name!r}.", highlight=False)
    else:
        _err.print(f"Key {record.name!r} was revoked already.", highlight=False)
