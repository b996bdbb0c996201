"""Run client suites in remote mode: against `sentry-stub serve` started as the container does.

    python -m client_tests.remote_mode [pytest arguments]

The server gets the container's command and `SENTRY_STUB_*` variables (see
`tests/test_docker_files.py`, which keeps the Dockerfile and `ServerProcess` identical), and the
pytest plugin reaches it through `--sentry-stub-url`, as a CI job using the docker service does.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from client_tests.support import ServerProcess


def main(arguments: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="sentry-stub-remote-") as directory:
        server = ServerProcess(Path(directory) / "sentry-stub.sqlite3").start()
        try:
            code = pytest.main([*arguments, f"--sentry-stub-url={server.url}"])
        finally:
            server.stop()
    # A selection (-k ...) that leaves no remote-mode test is not a failure.
    return 0 if code == pytest.ExitCode.NO_TESTS_COLLECTED else int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
