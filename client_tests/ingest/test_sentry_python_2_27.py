"""sentry-python 2.27 sends its logs as ``otel_log`` items, which current Relay drops.

The SDK runs in a virtual environment of its own, made by the test, and sends to a real
``sentry-stub serve`` process over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from client_tests.support import ServerProcess
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

SDK_VERSION = "2.27.0"

SEND_LOGS = textwrap.dedent(
    """
    import sys

    import sentry_sdk
    from sentry_sdk import logger

    sentry_sdk.init(
        dsn=sys.argv[1],
        environment="staging",
        default_integrations=False,
        _experiments={"enable_logs": True},
    )
    assert sentry_sdk.VERSION == sys.argv[2], sentry_sdk.VERSION
    logger.warning("payment {order} failed", order="A-17")
    logger.info("second line")
    sentry_sdk.flush()
    """
)


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new virtual environment with sentry-sdk 2.27 and nothing else."""
    venv = tmp_path_factory.mktemp("sentry-sdk-2.27")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", f"sentry-sdk=={SDK_VERSION}"]
    result = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip install sentry-sdk=={SDK_VERSION} failed:\n{result.stderr}"
    return python


def test_otel_log_items_are_kept_with_a_note_and_no_log_rows(
    stub_process: ServerProcess, sdk_python: Path, tmp_path: Path
) -> None:
    view = StubView(StubClient(stub_process.url))
    script = tmp_path / "send_logs.py"
    script.write_text(SEND_LOGS)
    result = subprocess.run(
        [str(sdk_python), str(script), view.dsn, SDK_VERSION],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    items = [item for envelope in view.envelopes() for item in envelope.items]
    items = [item for item in items if item.type == "otel_log"]
    assert len(items) == 2, [item.type for envelope in view.envelopes() for item in envelope.items]
    bodies = {item.payload["body"]["stringValue"] for item in items}
    assert bodies == {"payment A-17 failed", "second line"}
    assert view.logs() == []  # as in Sentry: current Relay drops otel_log items
    notes = [note for note in view.notes() if note.startswith("otel_log:")]
    assert len(notes) == 2
    assert "current Relay does not know and drops" in notes[0]
    assert "upgrade the SDK to one that sends `log` items" in notes[0]
