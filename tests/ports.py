"""Ports for the tests' servers, never raced for: between a test choosing a port and its server
listening there, no other process (another xdist worker, a browser's outgoing connection) can be
given that port — unlike binding a free port, closing it and hoping."""

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager


def listening_socket(host: str) -> tuple[str, int]:
    """A socket bound to a free port, handed to Hypercorn as fd://: no race for the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = int(sock.getsockname()[1])
    return f"fd://{sock.detach()}", port


@contextmanager
def reserved_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A free port, held until the block ends, for a server that binds it itself (`portal serve`
    in another process, aiosmtpd). Bound, and not listening, it is given to no other socket; its
    SO_REUSEADDR, set after the bind, lets a server that sets it too (Hypercorn and asyncio's
    servers do) bind and listen there. Until one listens, a connection to it is refused."""
    with _held(host, 0) as port:
        yield port


@contextmanager
def reserved_ports(count: int, host: str = "127.0.0.1") -> Iterator[int]:
    """`count` consecutive ports held as reserved_port holds one; yields the first."""
    for _ in range(50):
        with reserved_port(host) as first, ExitStack() as rest:
            try:
                for port in range(first + 1, first + count):
                    rest.enter_context(_held(host, port))
            except OSError:
                continue
            yield first
            return
    raise AssertionError(f"no {count} consecutive free ports")


@contextmanager
def _held(host: str, port: int) -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, port))  # without SO_REUSEADDR: fails on a port another test holds
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        yield int(sock.getsockname()[1])
