"""One reading of every event: what an ``Event`` attribute says, a search on that field finds.

Every fixture in ``tests/fixtures`` goes to a real server the way an SDK would send it; then, for
each event it produced and each attribute, ``field:"value"`` must find the event and
``!field:"value"`` must not.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import msgpack
import pytest

from sentry_stub import StubServer
from sentry_stub.cli import main
from sentry_stub.client import StubClient
from sentry_stub.processing.grouping import fingerprint
from sentry_stub.protocol.envelope import parse_envelope
from sentry_stub.records import Event
from sentry_stub.view import StubView
from tests.sending import post_envelope, post_event, post_raw

FIXTURES = Path(__file__).parent / "fixtures"
ALL_FIXTURES = sorted(path for path in FIXTURES.rglob("*") if path.is_file())
BOUNDARY = "sentry-stub-reading"
# Fixtures broken on purpose (wrong lengths, ids that are no UUID, too many events...): the status
# they get. Every other fixture must be accepted.
REFUSED = {
    "envelopes/cocoa-handmade__profile-chunk-wrong-length.envelope": 400,
    "envelopes/cocoa-handmade__transaction-non-uuid-event-id.envelope": 400,
    "envelopes/dart-flutter__event-screenshot-MANGLED.envelope": 400,
    "envelopes/java-android-flutter__replay-video-MANGLED.envelope": 400,
    "envelopes/java-android-testdata__session-length-too-short.envelope": 400,
    "envelopes/java-android-testdata__two-event-items.envelope": 413,
    "envelopes/native-testdata__event-minidump-attachment.envelope": 400,
    "envelopes/php-laravel__statsd.envelope": 400,
    "envelopes/sentry-cli-testdata__event-transaction-session-attachment.envelope": 413,
}
# Accepted, with an event item whose JSON is broken on purpose: an envelope note, no event.
BROKEN_EVENT = {"envelopes/java-testdata__event-broken-json-two-attachments.envelope"}


def send_fixture(server: StubServer, path: Path) -> int | None:
    """Post one fixture to the endpoint its kind goes to; the answer's status (None: not sent)."""
    key = server.dsn.split("//")[1].split("@")[0]
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"}
    kind = path.relative_to(FIXTURES).parts[0]
    body = path.read_bytes()
    if kind == "envelopes":
        # An envelope whose header names its DSN goes where the DSN says, authenticated by it.
        project = dsn_project(body)
        url = f"{server.url}/api/{project or 1}/envelope/"
        return httpx.post(url, content=body, headers={} if project else auth).status_code
    if kind == "events":
        payload = json.loads(body)
        if "check-in" in path.name:
            payload_bytes = body.strip()
            header = {"type": "check_in", "length": len(payload_bytes)}
            lines = [b"{}", json.dumps(header).encode(), payload_bytes]
            url = f"{server.url}/api/1/envelope/"
            return httpx.post(url, content=b"\n".join(lines), headers=auth).status_code
        payload.setdefault("event_id", uuid.uuid4().hex)
        post_event(server, payload)
        return 200
    if kind == "minidumps":
        form = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload_file_minidump"; '
                f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + body
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        url = f"{server.url}/api/1/minidump/?sentry_key={key}"
        return httpx.post(url, content=form, headers={"content-type": content_type}).status_code
    if kind == "unreal":
        return httpx.post(f"{server.url}/api/1/unreal/{key}/", content=body).status_code
    return None  # PROVENANCE.md


def yields_events(path: Path) -> bool:
    """Whether an accepted events/ or envelopes/ fixture must give at least one event."""
    name = str(path.relative_to(FIXTURES))
    kind = path.relative_to(FIXTURES).parts[0]
    if kind == "events":
        return "check-in" not in path.name
    if kind != "envelopes" or name in REFUSED or name in BROKEN_EVENT:
        return False
    types = {item.type for item in parse_envelope(path.read_bytes()).items}
    return bool(types & {"event", "transaction"})


def dsn_project(envelope: bytes) -> str | None:
    """The project id of the DSN in an envelope's header: the project it must be posted to."""
    try:
        header = json.loads(envelope.split(b"\n", 1)[0])
    except ValueError:
        return None
    dsn = header.get("dsn") if isinstance(header, dict) else None
    project = dsn.rstrip("/").rsplit("/", 1)[-1] if isinstance(dsn, str) else ""
    return project if project.isdigit() else None


def quoted(value: str) -> str:
    """A search value that means exactly ``value``: quotes and stars escaped."""
    return '"' + value.replace('"', '\\"').replace("*", "\\*") + '"'


def attribute_searches(event: Event) -> list[tuple[str, str, str]]:
    """(attribute, search field, value) for every attribute of ``event`` that has a value."""
    pairs = [
        ("event_id", "id", event.event_id),
        ("type", "event.type", event.type),
        ("level", "level", event.level),
        ("release", "release", event.release),
        ("environment", "environment", event.environment),
        ("transaction", "transaction", event.transaction),
        ("platform", "platform", event.platform),
        ("message", "message", event.message),
        ("trace_id", "trace", event.trace_id),
        ("project", "project", event.project),
    ]
    if event.title != "<no title>":
        pairs.append(("title", "title", event.title))
    for index, exception in enumerate(event.exception):
        pairs += [
            (f"exception[{index}]['type']", "error.type", exception.get("type")),
            (f"exception[{index}]['value']", "error.value", exception.get("value")),
        ]
    user_fields = {"id": "user.id", "email": "user.email", "ip_address": "user.ip"}
    user_fields["username"] = "user.username"
    pairs += [(f"user[{k!r}]", user_fields[k], v) for k, v in event.user.items()]
    pairs += [(f"tags[{k!r}]", f"tags[{k}]", v) for k, v in event.tags.items()]
    return [
        (name, field, value) for name, field, value in pairs if isinstance(value, str) and value
    ]


def item_ids(view: StubView, query: str) -> set[int]:
    return {event.item_id for event in view.events(query)}


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_attribute_of_every_fixture_event_is_what_its_search_matches(server, view, path):
    status = send_fixture(server, path)
    if status is None:
        assert path.suffix == ".md"
        return
    name = str(path.relative_to(FIXTURES))
    assert status == REFUSED.get(name, 200), name
    events = view.events()
    if yields_events(path):
        assert events, f"{name} was accepted but gave no event"
    mismatches = []
    for event in events:
        for attribute, field, value in attribute_searches(event):
            search = f"{field}:{quoted(value)}"
            if event.item_id not in item_ids(view, search):
                mismatches.append(f"{event.event_id} .{attribute} = {value!r}: {search} misses it")
            if event.item_id in item_ids(view, f"!{search}"):
                mismatches.append(f"{event.event_id} .{attribute} = {value!r}: !{search} finds it")
    assert not mismatches, "\n".join(mismatches)


def test_the_walk_reads_events_of_every_kind(server):
    """The walk above is only worth something if the fixtures give it events to read."""
    view = StubView(StubClient(server.url))
    checked: dict[str, int] = {}
    for path in ALL_FIXTURES:
        send_fixture(server, path)
    for event in view.events():
        checked[event.type] = checked.get(event.type, 0) + len(attribute_searches(event))
    assert {"error", "default", "transaction"} <= checked.keys()
    assert sum(checked.values()) >= 250, checked


# --- the cases where the raw JSON and Sentry's reading differ ------------------------------------


def test_a_single_exception_object_is_a_list_of_one_and_titles_the_event(server, view):
    post_event(
        server, {"event_id": uuid.uuid4().hex, "exception": {"type": "ValueError", "value": "msg"}}
    )
    (event,) = view.wait_for("error.type:ValueError")
    assert event.exception == [{"type": "ValueError", "value": "msg"}]
    assert event.title == "ValueError: msg"
    assert event.type == "error"
    assert event["exception"] == {"type": "ValueError", "value": "msg"}  # as sent


def test_a_single_exception_object_groups_as_its_values_form():
    exception = {"type": "ValueError", "value": "a", "stacktrace": {"frames": [{"function": "f"}]}}
    single = fingerprint({"exception": exception})
    assert single == fingerprint({"exception": {"values": [exception]}})
    assert single != fingerprint({"exception": {"values": [{**exception, "type": "KeyError"}]}})


def test_an_empty_exception_object_is_no_exception_as_relay_reads_it(server, view):
    post_event(server, {"event_id": uuid.uuid4().hex, "exception": {}, "message": "plain"})
    (event,) = view.wait_for('message:"plain"')
    assert event.exception == []
    assert event.type == "default"


def test_a_bare_exception_list_is_read_as_the_values(server, view):
    values = [{"type": "KeyError", "value": "'a'"}, {"type": "LookupError", "value": "wrapped"}]
    post_event(server, {"event_id": uuid.uuid4().hex, "exception": values})
    (event,) = view.wait_for("error.type:LookupError")
    assert event.exception == values
    assert event.title == "LookupError: wrapped"
    # error.type and error.value are arrays in Sentry: any exception of the chain matches.
    assert view.events("error.type:KeyError error.value:\"'a'\"") == [event]
    assert view.events("!error.type:KeyError") == []
    assert event.indexed["error.type"] == ["KeyError", "LookupError"]


@pytest.mark.parametrize(
    ("logentry", "formatted"),
    [
        ({"message": "hello %s", "params": ["world"]}, "hello world"),
        ({"message": "hello %(who)s", "params": {"who": "named"}}, "hello named"),
        ({"message": "hello {}", "params": ["java"]}, "hello java"),
        ({"message": "hello {0} {0}", "params": ["dotnet"]}, "hello dotnet dotnet"),
        # Relay formats by one convention only: with a %, the braces stay as they are.
        ({"message": "100% {0}", "params": ["x"]}, "100% {0}"),
        ({"message": "short %s %s", "params": ["one"]}, "short %s %s"),
        ({"message": "mine", "formatted": "given", "params": ["x"]}, "given"),
    ],
)
def test_a_logentry_with_params_reads_as_relay_formats_it(server, view, logentry, formatted):
    post_event(server, {"event_id": uuid.uuid4().hex, "logentry": logentry})
    (event,) = view.wait_for()
    assert event.message == formatted
    assert event.title == formatted
    assert event["logentry"] == logentry  # as sent
    assert event.stored["logentry"]["formatted"] == formatted  # Relay's own normalization
    assert view.events(f"message:{quoted(formatted)}") == [event]


@pytest.mark.parametrize(
    ("sent", "stored"), [("critical", "fatal"), ("log", "info"), (30, "warning"), (None, "error")]
)
def test_the_level_is_the_one_relay_stores(server, view, sent, stored):
    post_event(server, {"event_id": uuid.uuid4().hex, "message": "lvl", "level": sent})
    (event,) = view.wait_for()
    assert event.level == stored
    assert view.events(f"level:{stored}") == [event]
    assert event["level"] == sent
    assert event.stored["level"] == stored  # Relay's own normalization


def test_tags_read_as_the_search_reads_them(server, view):
    tags = [["a key", "1"], ["a key", "2"], ["environment", "from-tag"], ["ok", "yes"]]
    post_event(server, {"event_id": uuid.uuid4().hex, "message": "tagged", "tags": tags})
    (event,) = view.wait_for()
    # Relay: spaces in keys become dashes, the environment tag becomes the field.
    assert event.tags == {"a-key": "1", "ok": "yes"}
    assert event.environment == "from-tag"
    assert view.events('tags[a-key]:"1" environment:from-tag') == [event]


def test_user_and_platform_are_the_indexed_fields(server, view):
    user = {"id": 7, "email": "a@example.com", "name": "not indexed"}
    post_event(
        server, {"event_id": uuid.uuid4().hex, "message": "u", "user": user, "platform": "x"}
    )
    (event,) = view.wait_for()
    assert event.user == {"id": "7", "email": "a@example.com"}  # Relay reads a number id as text
    assert event.platform == "other"  # not a platform Relay knows
    assert event["user"] == user
    assert view.events("user.id:7 platform:other") == [event]


def test_openapi_names_every_indexed_field(server, view):
    post_event(server, {"event_id": uuid.uuid4().hex, "message": "documented"})
    (event,) = view.wait_for()
    schema = httpx.get(f"{server.url}/stub/api/openapi.json").json()["components"]["schemas"]
    described = schema["Event"]["properties"]["indexed"]["description"]
    assert event.indexed, "the event record has no indexed fields"
    missing = [key for key in event.indexed if f"`{key}`" not in described]
    assert not missing, f"openapi.py does not describe indexed fields {missing}"


def test_the_timeout_report_titles_a_miss_as_event_title_does(server, view):
    post_event(server, {"event_id": uuid.uuid4().hex, "exception": {"type": "Boom"}})
    (event,) = view.wait_for("error.type:Boom")
    assert event.title == "Boom"
    with pytest.raises(AssertionError) as failure:
        view.wait_for("level:info", timeout=0.2)
    assert f"error {event.event_id} 'Boom' (project default)" in str(failure.value)


def test_the_events_command_reads_as_the_search_does(server, view, capsys):
    exception = {"type": "ValueError", "value": "from the cli"}
    post_event(server, {"event_id": uuid.uuid4().hex, "exception": exception, "level": "critical"})
    view.wait_for('error.value:"from the cli"')
    assert main(["events", 'error.value:"from the cli"', "--url", server.url]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if "from the cli" in line]
    assert " fatal " in row
    assert row.rstrip().endswith("ValueError: from the cli")


def test_an_envelope_names_the_event_made_of_it_as_the_search_finds_it(server, view):
    """``derived_event_id`` comes from the derived event, not from the item types: an event in
    a MessagePack attachment (as native SDKs send it) counts, an event item whose JSON is
    broken (no event is made of it) does not, and neither does an envelope without events."""
    error, packed, broken = (uuid.uuid4().hex for _ in range(3))
    post_event(server, {"event_id": error, "message": "an error"})
    event = msgpack.packb({"event_id": packed, "message": "from an attachment"})
    attachment = {"type": "attachment", "attachment_type": "event.payload", "length": len(event)}
    lines = [json.dumps({"event_id": packed}).encode(), json.dumps(attachment).encode(), event]
    assert post_raw(server, b"\n".join(lines)).is_success
    lines = [json.dumps({"event_id": broken}).encode(), b'{"type": "event"}', b'{"message": ']
    assert post_raw(server, b"\n".join(lines)).is_success
    report = {"timestamp": 1700000000, "discarded_events": []}
    post_envelope(server, {}, ({"type": "client_report"}, report))

    derived = {e.event_id: e.derived_event_id for e in view.envelopes()}
    assert derived == {error: error, packed: packed, broken: None, None: None}
    for event_id in (error, packed):
        assert [e.event_id for e in view.events(f"id:{event_id}")] == [event_id]
