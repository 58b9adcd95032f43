"""Connecting to Temporal with a readable error when nobody answers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from hybridagent.config import Settings
from hybridagent.errors import UserError
from hybridagent.logs import CORE_LOGGER
from hybridagent.request_ids import RequestIdInterceptor
from hybridagent.security.codec import with_encryption
from hybridagent.security.keys import configured_ring
from hybridagent.tracing import temporal_interceptors


class TemporalUnreachableError(UserError, RuntimeError):
    """No Temporal server answered at the configured address."""


async def connect(
    settings: Settings, plugins: Sequence[Plugin] = (), *, sdk_metrics_port: int | None = None
) -> Client:
    """A client for workers (with the plugin) or for the CLI (pydantic JSON converter).
    `sdk_metrics_port`: the Temporal SDK's own Prometheus metrics on that loopback port
    (the worker's, docs/observability.md). With traces on (hybridagent/tracing.py) the
    client carries Temporal's tracing interceptor, and so does a worker built on it; every
    client carries the API's request ID to the worker's log lines (request_ids.py)."""
    # The Agents plugin brings its own pydantic-based converter; the CLI uses the plain one.
    # Both get the payload codec when a key ring is configured (security/codec.py).
    converter = with_encryption(
        DataConverter.default if plugins else pydantic_data_converter, configured_ring(settings)
    )
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            plugins=list(plugins),
            interceptors=[*temporal_interceptors(), RequestIdInterceptor()],
            data_converter=converter,
            runtime=sdk_runtime(settings.sdk_log_level, sdk_metrics_port),
        )
    except RuntimeError as err:
        raise TemporalUnreachableError(
            f"Cannot reach the Temporal server at {settings.temporal_address}; start one with "
            "`hybridagent dev` or set TEMPORAL_ADDRESS."
        ) from err


@functools.cache
def sdk_runtime(log_level: str, metrics_port: int | None = None) -> Runtime:
    """The Temporal SDK runtime, its Rust core logging only at `log_level` and above, and
    its metrics served for Prometheus on loopback `metrics_port` when one is given.

    By default core warnings (e.g. "retried 7 times" while a server is away) would go
    straight to the terminal; the CLI says what happened in one sentence instead. What
    core does log is forwarded to Python logging (the `temporalio.core` logger), so it
    is redacted and formatted like every other line (hybridagent/logs.py).
    One runtime per (level, port) for the process: a second would bind the port again.
    """
    level = log_level.upper()
    forward_to = logging.getLogger(CORE_LOGGER)
    forward_to.setLevel("WARNING" if level == "WARN" else level)
    metrics = (
        PrometheusConfig(bind_address=f"127.0.0.1:{metrics_port}")
        if metrics_port is not None
        else None
    )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level=level, other_level=level),
                forwarding=LogForwardingConfig(logger=forward_to, append_target_to_name=False),
            ),
            metrics=metrics,
        )
    )
