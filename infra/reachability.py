"""Whether a service answers at an address, asked once with a short timeout before any work:
Ray and MLflow clients retry a dead address for minutes before they fail."""

from __future__ import annotations

import socket

__all__ = ["tcp_problem"]


def tcp_problem(host: str, port: int, timeout_s: float = 5.0) -> str | None:
    """Why nothing accepts a TCP connection at ``host:port`` (the system's words), or None
    when something does."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__
