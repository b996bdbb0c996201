"""Acknowledging stores the raw envelope; its rows are derived later, and always before a read.

Packing of raw envelopes, the read barrier, the writer's idle work, restarts with rows still to
derive, databases from before deferred derivation, reset, a failing envelope, and envelopes a
rate limit kept only in part. What is on disk is looked at through a plain ``sqlite3``
connection of the test's own, which never triggers derivation.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.config import Settings
from sentry_stub.processing import derivation
from sentry_stub.processing.derivation import Deriver
from sentry_stub.processing.derive import derive_rows
from sentry_stub.protocol.envelope import Item, ParsedEnvelope, parse_envelope, serialize_envelope
from sentry_stub.records import Attachment
from sentry_stub.settings.values import DEFAULT_PROJECT_ID
from sentry_stub.storage import writer
from sentry_stub.storage.database import Database
from sentry_stub.storage.packing import ZSTD, pack, unpack
from sentry_stub.storage.projects import ProjectRegistry
from sentry_stub.storage.received import Received, store_envelope
from sentry_stub.storage.schema import DERIVED_THROUGH, connect, migrate
from sentry_stub.storage.watermark import derived_through
from sentry_stub.storage.writer import DEFAULT_POLICY, WritePolicy
from sentry_stub.view import StubView
from tests.sending import post_event, post_raw

ENVELOPES = Path(__file__).parent / "fixtures" / "envelopes"
JSON_ENVELOPE = ENVELOPES / "javascript-nextjs__event-message.envelope"  # one 13 KB event
BINARY_ENVELOPE = ENVELOPES / "javascript-node__event-attachment-jpeg.envelope"  # event + JPEG
MIXED_ENVELOPE = ENVELOPES / "java-android__event-session-attachment.envelope"
FAILED_NOTE = "the stub could not derive this envelope's rows: "
WAIT_SECONDS = 10.0  # generous bound for idle work; only ever a ceiling, never a speed claim
SDK_WORK = 0.003  # seconds an SDK spends on its next envelope: serializing it, compressing it


# --- building envelopes and looking at the database -------------------------------------------


def event_id(number: int) -> str:
    return f"{number:032x}"


def event_envelope(number: int) -> bytes:
    """An envelope with one error event, told apart by its event id."""
    event = {"event_id": event_id(number), "message": f"envelope {number}", "level": "error"}
    item = Item({"type": "event"}, json.dumps(event).encode())
    return serialize_envelope(ParsedEnvelope({"event_id": event_id(number)}, [item]))


def received(raw: bytes, projects: ProjectRegistry, **facts: Any) -> Received:
    """``raw`` as the ingest route hands it to storage, sent to the default project."""
    envelope = parse_envelope(raw)
    project = projects.get(DEFAULT_PROJECT_ID)
    assert project is not None
    return Received(
        envelope=envelope,
        raw=raw,
        project=project,
        endpoint="envelope",
        public_key=project.keys[0],
        received_at=time.time(),
        event_id=envelope.event_id,
        **facts,
    )


def acknowledge(database: Database, raw: bytes, **facts: Any) -> int:
    """Store ``raw`` as acknowledging a request does; the new envelope id."""
    stored = received(raw, database.deriver.projects, **facts)
    return database.writer.run_sync(partial(store_envelope, received=stored))


def on_disk(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` through a connection of our own: what is committed, no read barrier."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql, params).fetchall()


def count(path: Path, table: str) -> int:
    return on_disk(path, f"SELECT COUNT(*) FROM {table}")[0][0]


def watermark(path: Path) -> int | None:
    found = on_disk(path, "SELECT value FROM meta WHERE key = ?", (DERIVED_THROUGH,))
    return int(found[0][0]) if found else None


def items_per_envelope(path: Path) -> dict[int, int]:
    return dict(on_disk(path, "SELECT envelope_id, COUNT(*) FROM items GROUP BY envelope_id"))


def stored_event_ids(connection: sqlite3.Connection) -> list[str]:
    """A read: the event ids of the events table, in receive order."""
    return [row[0] for row in connection.execute("SELECT event_id FROM events ORDER BY item_id")]


def wait_until_derived(path: Path, envelope_id: int) -> None:
    """Poll the file until the watermark reaches ``envelope_id``; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (watermark(path) or 0) < envelope_id:
        assert time.monotonic() < deadline, f"rows not derived: watermark {watermark(path)}"
        time.sleep(0.02)


def acknowledged_but_never_derived(path: Path, how_many: int, chunks_derived: int = 0) -> None:
    """The database a crash leaves: envelopes stored, and at most a few chunks derived."""
    projects = ProjectRegistry(Settings())
    with contextlib.closing(connect(str(path))) as connection:
        migrate(connection)
        for number in range(how_many):
            store_envelope(connection, received(event_envelope(number), projects))
        for _ in range(chunks_derived):
            connection.execute("BEGIN IMMEDIATE")
            Deriver(projects).derive_next(connection)
            connection.execute("COMMIT")


@contextlib.contextmanager
def opened(path: Path, policy: WritePolicy = DEFAULT_POLICY) -> Iterator[Database]:
    """The database as a server start opens it, closed again at the end of the block."""
    database = Database(str(path), Deriver(ProjectRegistry(Settings())), policy)
    database.open()
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "stub.sqlite3"


@pytest.fixture
def no_idle_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer never derives on its own: whatever gets derived, the read barrier did."""
    monkeypatch.setattr(Deriver, "idle_work", lambda self, connection, limit: 0)


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    with opened(db_path) as database:
        yield database


@pytest.fixture
def barrier_database(no_idle_work: None, db_path: Path) -> Iterator[Database]:
    """A database whose rows are derived only when somebody reads."""
    with opened(db_path) as database:
        yield database


# --- 1. packing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        JSON_ENVELOPE.read_bytes(),
        BINARY_ENVELOPE.read_bytes(),
        random.Random(7).randbytes(100_000),  # incompressible
        b"",
    ],
    ids=["json", "jpeg-attachment", "random-bytes", "empty"],
)
def test_pack_then_unpack_gives_back_the_exact_bytes(raw: bytes):
    stored, encoding = pack(raw)
    assert encoding == ZSTD
    assert unpack(stored, encoding) == raw


def test_rows_written_before_packing_read_as_stored():
    raw = JSON_ENVELOPE.read_bytes()
    assert unpack(raw, None) == raw


def test_an_unknown_encoding_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown envelope encoding 'brotli'"):
        unpack(b"...", "brotli")


@pytest.mark.parametrize("packed", [True, False], ids=["zstd", "plain"])
def test_sql_envelope_payload_is_each_items_exact_bytes(db_path: Path, packed: bool):
    raw = MIXED_ENVELOPE.read_bytes()
    stored, encoding = pack(raw) if packed else (raw, None)
    items = parse_envelope(raw).items
    with contextlib.closing(connect(str(db_path))) as connection:
        payloads = [
            connection.execute(
                "SELECT envelope_payload(?, ?, ?, ?)",
                (stored, encoding, item.offset, len(item.payload)),
            ).fetchone()[0]
            for item in items
        ]
    assert [item.type for item in items] == ["event", "session", "attachment"]
    assert payloads == [item.payload for item in items]


@pytest.mark.parametrize("missing", ["raw", "offset", "length"])
def test_sql_envelope_payload_is_null_when_an_input_is(db_path: Path, missing: str):
    stored, encoding = pack(MIXED_ENVELOPE.read_bytes())
    arguments = {"raw": stored, "offset": 10, "length": 20}
    arguments[missing] = None
    with contextlib.closing(connect(str(db_path))) as connection:
        [(payload,)] = connection.execute(
            "SELECT envelope_payload(?, ?, ?, ?)",
            (arguments["raw"], encoding, arguments["offset"], arguments["length"]),
        ).fetchall()
    assert payload is None


def test_a_stored_json_envelope_takes_less_room_than_received(db_path: Path):
    raw = JSON_ENVELOPE.read_bytes()
    with contextlib.closing(connect(str(db_path))) as connection:
        migrate(connection)
        store_envelope(connection, received(raw, ProjectRegistry(Settings())))
    [(stored, encoding)] = on_disk(db_path, "SELECT raw, raw_encoding FROM envelopes")
    assert encoding == ZSTD
    assert len(stored) < len(raw) / 2
    assert unpack(stored, encoding) == raw


# --- 2. acknowledged, then derived before any read --------------------------------------------


def test_acknowledged_envelopes_have_no_rows_until_somebody_reads(
    barrier_database: Database, db_path: Path
):
    ids = [acknowledge(barrier_database, event_envelope(n)) for n in range(3)]
    assert ids == [1, 2, 3]
    assert count(db_path, "envelopes") == 3
    assert (count(db_path, "items"), count(db_path, "events"), watermark(db_path)) == (0, 0, 0)

    assert barrier_database.read_sync(stored_event_ids) == [event_id(n) for n in range(3)]
    assert (count(db_path, "items"), count(db_path, "events"), watermark(db_path)) == (3, 3, 3)


def test_a_read_includes_every_envelope_acknowledged_before_it(barrier_database: Database):
    """Many more than one derivation chunk, acknowledged from several threads at once."""
    numbers = range(50)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: acknowledge(barrier_database, event_envelope(n)), numbers))
    found = barrier_database.read_sync(stored_event_ids)
    assert sorted(found) == [event_id(n) for n in numbers]


def test_each_writer_reads_its_own_envelope_back_while_others_write(
    barrier_database: Database,
):
    def acknowledge_then_read(number: int) -> bool:
        acknowledge(barrier_database, event_envelope(number))
        return event_id(number) in barrier_database.read_sync(stored_event_ids)

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(acknowledge_then_read, range(80)))
    assert all(seen)
    assert len(barrier_database.read_sync(stored_event_ids)) == 80


def test_the_api_shows_envelopes_acknowledged_just_before_the_request(no_idle_work: None):
    with StubServer() as server:
        for number in range(20):
            post_event(server, {"event_id": event_id(number), "message": "just before"})
        response = httpx.get(f"{server.url}/stub/api/events", params={"limit": 100})
        envelopes_response = httpx.get(f"{server.url}/stub/api/envelopes")
    assert [e["event_id"] for e in response.json()["data"]] == [event_id(n) for n in range(20)]
    stored = envelopes_response.json()["data"]
    assert [[i["type"] for i in e["items"]] for e in stored] == [["event"]] * 20


# --- 3. idle work -----------------------------------------------------------------------------


def test_rows_are_derived_without_any_read_once_requests_stop(database: Database, db_path: Path):
    last = max(acknowledge(database, event_envelope(n)) for n in range(40))
    wait_until_derived(db_path, last)
    assert items_per_envelope(db_path) == dict.fromkeys(range(1, 41), 1)
    assert count(db_path, "events") == 40


def test_an_sdk_sending_one_envelope_at_a_time_finds_its_rows_made_between_its_requests(
    db_path: Path,
):
    """Each gap between two requests derives some rows: the backlog never builds up."""
    last = 0
    with opened(db_path, WritePolicy(idle_turn=3600.0)) as database:  # only the gaps derive
        for number in range(100):
            last = acknowledge(database, event_envelope(number))
            time.sleep(SDK_WORK)
    assert last - (watermark(db_path) or 0) < 20  # no read has waited for anything


def test_only_commits_that_acknowledge_wait_for_the_disk(db_path: Path):
    """Idle work commits without an fsync (synchronous=NORMAL); requests always with one."""
    FULL, NORMAL = 2, 1

    def synchronous(connection: sqlite3.Connection) -> int:
        return connection.execute("PRAGMA synchronous").fetchone()[0]

    idle_levels: list[int] = []

    def idle(connection: sqlite3.Connection, units: int) -> int:
        idle_levels.append(synchronous(connection))
        return 0

    writer_ = writer.Writer(str(db_path), idle=idle)
    writer_.start()
    try:
        request_levels = [writer_.run_sync(synchronous) for _ in range(3)]
        deadline = time.monotonic() + WAIT_SECONDS
        while len(idle_levels) < 2 and time.monotonic() < deadline:  # at start, after requests
            time.sleep(0.01)
    finally:
        writer_.stop()
    assert request_levels == [FULL] * 3
    assert len(idle_levels) >= 2 and set(idle_levels) == {NORMAL}


def test_only_the_writer_keeps_its_temporary_storage_in_memory(db_path: Path):
    """The writer's savepoint journals in memory (no temporary file per transaction); readers'
    sorts of large results still spill to disk, not into the server's memory."""
    DEFAULT, MEMORY = 0, 2

    def temp_store(connection: sqlite3.Connection) -> int:
        return connection.execute("PRAGMA temp_store").fetchone()[0]

    writer_ = writer.Writer(str(db_path))
    writer_.start()
    try:
        assert writer_.run_sync(temp_store) == MEMORY
    finally:
        writer_.stop()
    reader = connect(str(db_path))
    try:
        assert temp_store(reader) == DEFAULT
    finally:
        reader.close()


def flood(database: Database, operations: list) -> list:
    """Queue ``operations`` all at once, so the writer never finds its queue empty meanwhile."""
    release = threading.Event()
    held = database.writer.submit(lambda connection: release.wait(WAIT_SECONDS))
    futures = [database.writer.submit(operation) for operation in operations]
    release.set()
    held.result()
    return [future.result() for future in futures]


def test_a_commit_that_fails_answers_every_request_of_its_batch(barrier_database: Database):
    """None of the batch is stored, and none of its callers is left waiting for an answer."""
    writer_ = barrier_database.writer
    running, release = threading.Event(), threading.Event()

    def hold(connection: sqlite3.Connection) -> None:
        running.set()
        release.wait(WAIT_SECONDS)

    def ends_the_transaction_early(connection: sqlite3.Connection) -> None:
        connection.execute("COMMIT")  # the writer's own RELEASE and COMMIT then fail

    held = writer_.submit(hold)
    assert running.wait(WAIT_SECONDS)
    # Queued while held's batch runs, so these four share the next batch; held's is committed.
    broken = writer_.submit(ends_the_transaction_early)
    after_it = [writer_.submit(lambda connection: 42) for _ in range(3)]
    release.set()
    assert held.result(WAIT_SECONDS) is None
    for future in [broken, *after_it]:
        with pytest.raises(sqlite3.OperationalError):
            future.result(WAIT_SECONDS)
    assert writer_.run_sync(lambda connection: 7) == 7  # and the writer goes on


def acknowledged_with_backlog(number: int, database: Database) -> Callable:
    """Store an envelope as acknowledging does; (its id, envelopes left to derive)."""
    stored = received(event_envelope(number), database.deriver.projects)

    def operation(connection: sqlite3.Connection) -> tuple[int, int]:
        envelope_id = store_envelope(connection, stored)
        return envelope_id, envelope_id - derived_through(connection)

    return operation


@pytest.mark.parametrize("turns", [True, False], ids=["with-turns", "without-turns"])
def test_a_queue_that_never_empties_still_gets_turns_of_idle_work(db_path: Path, turns: bool):
    # One request per commit: many commits.
    policy = WritePolicy(max_batch=1, idle_turn=0.0 if turns else 3600.0)
    with opened(db_path, policy) as database:
        stored = flood(database, [acknowledged_with_backlog(n, database) for n in range(60)])
    last_id, last_backlog = stored[-1]
    if turns:
        assert last_backlog < last_id  # rows were made while the flood went on
    else:
        assert last_backlog == last_id  # the control: without turns, nothing was


def test_past_the_backlog_limit_each_request_waits_for_rows_as_many_as_it_adds(db_path: Path):
    """A flood is acknowledged only as fast as it is derived: the backlog stops growing."""
    policy = WritePolicy(max_batch=1, idle_turn=3600.0, max_backlog=20)
    with opened(db_path, policy) as database:
        stored = flood(database, [acknowledged_with_backlog(n, database) for n in range(100)])
    backlogs = [backlog for _, backlog in stored]
    assert backlogs[:20] == list(range(1, 21))  # below the limit nothing is derived
    assert max(backlogs) <= 20 + 1  # one request's envelope beyond the limit, then its turn
    assert count(db_path, "events") == watermark(db_path) >= 100 - 21


def test_a_backlog_left_by_the_last_run_is_derived_with_no_request_and_no_read(db_path: Path):
    acknowledged_but_never_derived(db_path, 10 * derivation.CHUNK)
    with opened(db_path):
        wait_until_derived(db_path, 10 * derivation.CHUNK)
    assert count(db_path, "events") == 10 * derivation.CHUNK


# --- 4. restarts with rows still to derive ----------------------------------------------------


@pytest.mark.parametrize("chunks_derived", [0, 1], ids=["none-derived", "one-chunk-derived"])
def test_a_restart_derives_what_was_left_exactly_once(
    no_idle_work: None, db_path: Path, chunks_derived: int
):
    acknowledged_but_never_derived(db_path, 40, chunks_derived)
    assert watermark(db_path) == derivation.CHUNK * chunks_derived
    assert count(db_path, "events") == derivation.CHUNK * chunks_derived

    with opened(db_path) as database:
        found = database.read_sync(stored_event_ids)
    assert found == [event_id(n) for n in range(40)]
    assert watermark(db_path) == 40
    assert items_per_envelope(db_path) == dict.fromkeys(range(1, 41), 1)


def test_a_restart_derives_what_was_left_as_idle_work(db_path: Path):
    acknowledged_but_never_derived(db_path, 40)
    with opened(db_path):
        wait_until_derived(db_path, 40)
    assert items_per_envelope(db_path) == dict.fromkeys(range(1, 41), 1)
    assert count(db_path, "events") == 40


def test_closing_before_the_idle_delay_loses_nothing_and_repeats_nothing(
    no_idle_work: None, db_path: Path
):
    with opened(db_path) as database:
        for number in range(5):
            acknowledge(database, event_envelope(number))
    assert (count(db_path, "envelopes"), count(db_path, "items")) == (5, 0)

    for _ in range(2):  # a second restart must not derive anything again
        with opened(db_path) as database:
            found = database.read_sync(stored_event_ids)
        assert found == [event_id(n) for n in range(5)]
        assert items_per_envelope(db_path) == dict.fromkeys(range(1, 6), 1)
        assert watermark(db_path) == 5


# --- 6. reset ---------------------------------------------------------------------------------


@pytest.mark.parametrize("read_before_reset", [True, False], ids=["derived", "not-derived"])
def test_after_reset_envelope_ids_start_again_and_are_derived(
    no_idle_work: None, read_before_reset: bool
):
    with StubServer() as server:
        api = httpx.Client(base_url=server.url)
        for number in range(3):
            post_event(server, {"event_id": event_id(number), "message": "before reset"})
        if read_before_reset:
            assert len(api.get("/stub/api/events").json()["data"]) == 3
        assert api.post("/stub/api/reset", json={}).status_code == 200
        for number in (10, 11):
            post_event(server, {"event_id": event_id(number), "message": "after reset"})
        stored = api.get("/stub/api/envelopes").json()["data"]
        events = api.get("/stub/api/events").json()["data"]
        api.close()
        db_path = Path(server.settings.db)
        assert watermark(db_path) == 2
    assert [(e["id"], e["event_id"]) for e in stored] == [(1, event_id(10)), (2, event_id(11))]
    assert [[i["type"] for i in e["items"]] for e in stored] == [["event"], ["event"]]
    assert [e["event_id"] for e in events] == [event_id(10), event_id(11)]


# --- 7. an envelope whose rows cannot be derived ----------------------------------------------


def test_a_failing_envelope_is_noted_and_the_queue_moves_on(
    barrier_database: Database,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    attempts: list[int] = []

    def derive_then_fail_on_the_second(connection, received, envelope_id, batch):
        derive_rows(connection, received, envelope_id, batch)  # its rows must be dropped
        if envelope_id == 2:
            attempts.append(envelope_id)
            raise RuntimeError("boom")

    monkeypatch.setattr(derivation, "derive_rows", derive_then_fail_on_the_second)
    acknowledge(barrier_database, event_envelope(1))
    acknowledge(barrier_database, event_envelope(2), notes=["an earlier note"])
    acknowledge(barrier_database, event_envelope(3))

    assert barrier_database.read_sync(stored_event_ids) == [event_id(1), event_id(3)]
    assert items_per_envelope(db_path) == {1: 1, 3: 1}
    [(notes,)] = on_disk(db_path, "SELECT notes FROM envelopes WHERE id = 2")
    assert json.loads(notes) == ["an earlier note", f"{FAILED_NOTE}RuntimeError('boom')"]
    assert "deriving rows of envelope 2 failed" in caplog.text

    acknowledge(barrier_database, event_envelope(4))
    assert barrier_database.read_sync(stored_event_ids)[-1] == event_id(4)
    assert attempts == [2]  # never tried again
    assert watermark(db_path) == 4


def test_rows_written_per_chunk_are_those_written_one_envelope_at_a_time(tmp_path: Path):
    projects = ProjectRegistry(Settings())
    envelopes = []
    for path in sorted(ENVELOPES.glob("*.envelope")):
        with contextlib.suppress(Exception):  # the fixtures Relay refuses whole
            envelopes.append(received(path.read_bytes(), projects))
    tables = ("items", "events", "tags", "spans", "outcomes", "sessions", "check_ins", "logs")
    found = []
    for limit in (1, len(envelopes)):
        path = tmp_path / f"chunk-{limit}.sqlite3"
        with contextlib.closing(connect(str(path))) as connection:
            migrate(connection)
            for stored in envelopes:
                store_envelope(connection, stored)
            connection.execute("BEGIN IMMEDIATE")
            while Deriver(projects).derive_next(connection, limit=limit):
                pass
            connection.execute("COMMIT")
        found.append(
            {
                table: on_disk(path, f"SELECT * FROM {table} ORDER BY rowid")
                for table in (*tables, "envelopes")
            }
        )
    one_by_one, chunked = found
    assert all(one_by_one[table] for table in ("items", "events", "tags", "spans"))
    assert chunked == one_by_one


def test_a_chunk_that_cannot_be_written_is_written_one_envelope_at_a_time(
    barrier_database: Database,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    def unwritable_second(connection, received, envelope_id, batch):
        derive_rows(connection, received, envelope_id, batch)
        if envelope_id == 2:  # a value SQLite refuses, found only when the chunk is written
            batch.add("tags", {"item_id": 0, "key": "k", "value": object()})

    monkeypatch.setattr(derivation, "derive_rows", unwritable_second)
    for number in (1, 2, 3):
        acknowledge(barrier_database, event_envelope(number))

    assert barrier_database.read_sync(stored_event_ids) == [event_id(1), event_id(3)]
    assert items_per_envelope(db_path) == {1: 1, 3: 1}
    [(notes,)] = on_disk(db_path, "SELECT notes FROM envelopes WHERE id = 2")
    assert json.loads(notes)[0].startswith(FAILED_NOTE)
    assert "writing a chunk of derived rows failed" in caplog.text
    assert watermark(db_path) == 3


# --- 8. a rate limit that kept some items -----------------------------------------------------


def test_a_partly_rate_limited_envelope_is_stored_whole_and_derives_only_the_rest():
    raw = MIXED_ENVELOPE.read_bytes()  # event, session, attachment
    session = parse_envelope(raw).items[1]
    with StubServer() as server:
        view = StubView(StubClient(server.url))
        view.fault("rate_limit", categories=["error"], retry_after=60)  # event and attachment
        response = post_raw(server, raw)
        [envelope] = view.envelopes()
        [item] = view.client.items()
        content = httpx.get(f"{server.url}/stub/api/items/{item['item_id']}/content").content
        [(stored, encoding, dropped)] = on_disk(
            Path(server.settings.db), "SELECT raw, raw_encoding, dropped_items FROM envelopes"
        )
        derived = {
            table: count(Path(server.settings.db), table)
            for table in ("items", "events", "sessions")
        }
    assert response.status_code == 200
    assert response.headers["x-sentry-rate-limits"] == "60:error:key"
    assert unpack(stored, encoding) == raw
    assert envelope.raw == raw
    assert json.loads(dropped) == [0, 2]
    assert [i.type for i in envelope.items] == ["session"]
    assert content == session.payload
    assert derived == {"items": 1, "events": 0, "sessions": 1}


def test_an_envelope_record_gives_its_items_and_attachments_as_attachments():
    raw = MIXED_ENVELOPE.read_bytes()
    with StubServer() as server:
        view = StubView(StubClient(server.url))
        response = post_raw(server, raw)
        [envelope] = view.envelopes()
    assert response.status_code == 200
    sent = parse_envelope(raw).items
    assert [(type(i).__name__, i.type) for i in envelope.items] == [
        ("EnvelopeItem", "event"),
        ("EnvelopeItem", "session"),
        ("Attachment", "attachment"),
    ]
    attachment = envelope.items[2]
    assert isinstance(attachment, Attachment)
    assert attachment.content == sent[2].payload
    assert envelope.items[1].payload == json.loads(sent[1].payload)
    assert [item.content for item in envelope.items] == [item.payload for item in sent]
    assert not hasattr(envelope.items[0], "filename")  # an attachment's, not every item's
