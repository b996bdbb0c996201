"""The listening socket of every way to run the server: foreground, thread or child process.

Kept apart from ``server.py`` so that a parent process can bind the socket of a child server
without importing the server stack.
"""

from __future__ import annotations

import socket


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (``0``: a free port), inheritable by a child."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
