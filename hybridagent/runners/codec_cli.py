"""`hybridagent codec`: the payload encryption keys, and the codec server.

`keygen --print` prints a key alone on standard output (for HYBRIDAGENT_ENCRYPTION_KEYS);
everything else goes to standard error.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from hybridagent.config import load_settings
from hybridagent.entry import fail, run_cli_command
from hybridagent.security.keys import generate_ring, read_key_file, rotated, write_key_file

codec_app = typer.Typer(
    rich_markup_mode=None,
    help="Payload encryption: make and rotate keys, run the codec server.",
    no_args_is_help=True,
)
_err = Console(stderr=True)


def _say(message: str) -> None:
    _err.print(message, highlight=False, soft_wrap=True)


@codec_app.command("keygen")
def codec_keygen(
    print_only: Annotated[
        bool,
        typer.Option(
            "--print", help="Print a new id:base64key for HYBRIDAGENT_ENCRYPTION_KEYS instead."
        ),
    ] = False,
) -> None:
    """Create the key file (mode 0600) with one new key; refuses to overwrite one."""
    ring = generate_ring()
    if print_only:
        typer.echo(ring.serialise().strip())
        return
    path = run_cli_command(lambda: load_settings().key_file)
    if path.exists():
        fail(f"{path} exists already; add a new active key with `hybridagent codec rotate`.")
    write_key_file(path, ring)
    _say(f"Created {path} with key {ring.active!r}; payloads are encrypted from now on.")


@codec_app.command("rotate")
def codec_rotate() -> None:
    """Put a new active key first in the key file; the older keys still decrypt."""
    settings = run_cli_command(load_settings)
    if settings.encryption_keys is not None:
        fail(
            "The keys come from HYBRIDAGENT_ENCRYPTION_KEYS: put a new key first in it "
            "(`hybridagent codec keygen --print` makes one) and keep the old ones after it."
        )
    path = settings.key_file
    if not path.exists():
        fail(f"There is no key file at {path}; create one with `hybridagent codec keygen`.")
    ring = rotated(run_cli_command(lambda: read_key_file(path)))
    write_key_file(path, ring)
    older = ", ".join(repr(k) for k in ring.keys if k != ring.active)
    _say(
        f"Key {ring.active!r} is now active in {path}; {older} still decrypt. Restart "
        "workers, the API and the codec server so they encrypt with it."
    )


@codec_app.command("serve")
def codec_serve() -> None:
    """Run the codec server for the Web UI and `temporal --codec-endpoint`, until Ctrl-C."""
    from hybridagent.logs import announce
    from hybridagent.security.codec_server import serve_codec

    def ready(url: str) -> None:
        announce(f"Codec server at {url}; token in HYBRIDAGENT_CODEC_TOKEN or the state directory.")

    run_cli_command(lambda: asyncio.run(serve_codec(load_settings(), on_ready=ready)))
