"""Connecting to Temporal with a readable error when nobody answers."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from hybridagent.config import Settings


class TemporalUnreachableError(RuntimeError):
    """No Temporal server answered at the configured address."""


async def connect(settings: Settings, plugins: Sequence[Plugin] = ()) -> Client:
    """A client for workers (with the plugin) or for the CLI (pydantic JSON converter)."""
    # The Agents plugin brings its own pydantic-based converter; the CLI uses the plain one.
    converter = DataConverter.default if plugins else pydantic_data_converter
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            plugins=list(plugins),
            data_converter=converter,
        )
    except RuntimeError as err:
        raise TemporalUnreachableError(
            f"Cannot reach the Temporal server at {settings.temporal_address}; start one with "
            "`hybridagent dev` or set TEMPORAL_ADDRESS."
        ) from err
