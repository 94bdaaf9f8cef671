"""The whole suite runs without reaching beyond this machine (conftest's autouse guard): a connection to another
host fails the test that tries it."""

import socket

import pytest


def test_a_connection_to_another_host_is_refused_in_every_test():
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("pypi.org", 443), timeout=2)
    with pytest.raises(AssertionError, match="network name lookup"):
        socket.getaddrinfo("example.org", 80)
