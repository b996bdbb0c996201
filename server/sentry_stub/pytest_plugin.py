"""The pytest plugin: a sentry-stub server for the session and a per-test view of it.

Loaded automatically once ``sentry-stub`` is installed (entry point ``pytest11``). Without
options it starts one server for the session on a free port with a temporary database, as a
child process (or, with ``--sentry-stub-server=thread``, in a thread of the test process); with
``--sentry-stub-url`` (or ``SENTRY_STUB_URL``) it uses a running server, such as the docker
service, through the same client.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .client import StubApiError, StubClient, StubConnectionError
from .exports import write_export
from .process import StubProcess
from .view import StubView

if TYPE_CHECKING:
    from .server import StubServer

MARKER = "sentry_stub"
SERVER_KINDS = ("process", "thread")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sentry-stub")
    group.addoption(
        "--sentry-stub-url",
        default=os.environ.get("SENTRY_STUB_URL"),
        help="use the sentry-stub server at this URL instead of starting one (env SENTRY_STUB_URL)",
    )
    group.addoption(
        "--sentry-stub-config",
        default=os.environ.get("SENTRY_STUB_CONFIG"),
        help="TOML config for the server the plugin starts (env SENTRY_STUB_CONFIG)",
    )
    group.addoption(
        "--sentry-stub-server",
        choices=SERVER_KINDS,
        default=os.environ.get("SENTRY_STUB_SERVER", "process"),
        help="how the plugin runs its server: a child process (default) or a thread of the "
        "test process (env SENTRY_STUB_SERVER)",
    )
    group.addoption(
        "--sentry-stub-update-snapshots",
        action="store_true",
        help="write the golden files of sentry_stub.assert_snapshot instead of comparing",
    )
    group.addoption(
        "--sentry-stub-fail-on-unasserted",
        action="store_true",
        help="fail every test during which events arrived that it never looked at",
    )
    group.addoption(
        "--sentry-stub-export-failed",
        metavar="DIR",
        default=None,
        help="write what each failed test received to DIR/<test id>.jsonl "
        "(import it with `sentry-stub import FILE`)",
    )
    group.addoption(
        "--sentry-stub-fail-on-notes",
        action="store_true",
        help="fail every test during which the stub accepted something Relay would refuse",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(fail_on_unasserted=True, fail_on_notes=True): make this test fail when events "
        "arrive that it did not assert on, or when protocol notes were recorded",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that searched with warnings shows them next to its failure."""
    report = yield
    view = getattr(item, "funcargs", {}).get("sentry_stub")
    if report.failed and isinstance(view, StubView):
        shown = report.longreprtext  # a wait_for timeout lists them already
        unseen = [w for w in dict.fromkeys(view.query_warnings) if w not in shown]
        if unseen:
            report.sections.append(("sentry-stub query warnings", "\n".join(unseen)))
    folder = item.config.getoption("--sentry-stub-export-failed")
    if report.failed and folder and isinstance(view, StubView):
        path = Path(folder) / f"{_file_name(item.nodeid)}.jsonl"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            count = write_export(view.client, path, after=view.cursor)
        except (StubConnectionError, StubApiError, OSError) as error:  # the test's failure first
            report.sections.append(("sentry-stub export", f"no export written: {error}"))
        else:
            report.sections.append(("sentry-stub export", f"{count} envelope(s) in {path}"))
    return report


def _file_name(node_id: str) -> str:
    """A file name made of the test's id: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", node_id).strip("._")[:150] or "test"


@pytest.fixture(scope="session")
def sentry_stub_server(request: pytest.FixtureRequest) -> Iterator[StubClient]:
    """A client of the session's server: the running one named by the options, or a new one."""
    url = request.config.getoption("--sentry-stub-url")
    if url:
        client = StubClient(url)
        try:
            client.cursor()  # fail early and clearly when the server is not there
        except StubConnectionError as error:
            hint = "Start it with `sentry-stub serve`, or fix --sentry-stub-url / SENTRY_STUB_URL"
            pytest.fail(f"{error}. {hint}", pytrace=False)
        yield client
        return
    config = request.config.getoption("--sentry-stub-config")
    kind = request.config.getoption("--sentry-stub-server")
    if kind not in SERVER_KINDS:  # from SENTRY_STUB_SERVER, which argparse does not check
        pytest.fail(f"SENTRY_STUB_SERVER={kind!r}: expected one of {', '.join(SERVER_KINDS)}")
    server: StubProcess | StubServer
    if kind == "thread":
        # Imported here: only a server in this process loads the server stack here.
        from .server import StubServer

        server = StubServer(config=config)
    else:
        server = StubProcess(config=config)
    try:
        server.start()
    except RuntimeError as error:
        failure = str(error)  # failed outside the handler: the chained traceback says nothing more
    else:
        failure = ""
    if failure:
        pytest.fail(failure, pytrace=False)
    try:
        yield StubClient(server.url)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _sentry_stub_worker_key(sentry_stub_server: StubClient) -> str | None:
    """Under pytest-xdist, each worker sends with its own DSN key and sees only its own data.

    Only open mode accepts invented keys; in strict mode workers share what they see.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or sentry_stub_server.get("/stub/api/projects")["strict"]:
        return None
    return uuid.uuid4().hex


@pytest.fixture
def sentry_stub(
    request: pytest.FixtureRequest,
    sentry_stub_server: StubClient,
    _sentry_stub_worker_key: str | None,
) -> Iterator[StubView]:
    """What arrived at the server during this test, with Sentry-like assertions."""
    config = request.config
    key = _sentry_stub_worker_key
    view = StubView(
        sentry_stub_server.scoped([key]) if key else sentry_stub_server,
        dsn_key=key,
        snapshot_dir=Path(request.path).parent / "__snapshots__" / request.node.name,
        update_snapshots=config.getoption("--sentry-stub-update-snapshots"),
    )
    yield view
    view.remove_faults()  # a fault a test forgot to remove must not reach the next test
    marker = request.node.get_closest_marker(MARKER)
    options = marker.kwargs if marker else {}
    if options.get("fail_on_unasserted", config.getoption("--sentry-stub-fail-on-unasserted")):
        unasserted = view.unasserted_events()
        if unasserted:
            listing = "\n".join(f"  {e!r}" for e in unasserted)
            raise AssertionError(
                f"{len(unasserted)} event(s) arrived that the test never looked at:\n{listing}"
            )
    if options.get("fail_on_notes", config.getoption("--sentry-stub-fail-on-notes")):
        notes = view.notes()
        if notes:
            raise AssertionError(
                "the stub accepted what Relay would refuse or fix:\n"
                + "\n".join(f"  {n}" for n in notes)
            )
