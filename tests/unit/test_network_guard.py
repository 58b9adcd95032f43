"""The conftest guard: no test reaches beyond loopback."""

import socket

import pytest

from tests.conftest import NetworkGuardError


def test_connecting_beyond_loopback_fails_the_test() -> None:
    with socket.socket() as sock, pytest.raises(NetworkGuardError, match="203.0.113.7"):
        sock.connect(("203.0.113.7", 443))


def test_loopback_is_allowed() -> None:
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())
