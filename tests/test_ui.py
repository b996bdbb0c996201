"""The web UI in Debian's headless Chromium, against an in-process server fed by the real SDK.

Each test gets an emptied server and its own browser context; the page may talk to that
server only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import msgpack
import pytest
import sentry_sdk
from playwright.sync_api import Browser, Page, expect

from client_tests.support import debian_chromium, sentry_client
from sentry_stub import StubServer
from sentry_stub.client import StubClient
from tests.sending import post_raw

XSS = '<img src=x onerror="window.__xss=1">'
ATTACHMENT = bytes(range(256)) + b"\r\n\x00"


@dataclass
class UI:
    """A page on the stub's UI that records console errors and every request it makes."""

    page: Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, route: str) -> None:
        """Load the UI afresh at ``route`` and wait until the page has rendered."""
        self.page.goto("about:blank")
        self.page.goto(f"{self.url}/#{route}")
        expect(self.page.locator("main")).to_have_attribute("aria-busy", "false")

    def live(self) -> None:
        """Wait until the page follows the receive cursor."""
        expect(self.page.locator("#live")).to_have_text("live")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with debian_chromium() as browser:
        yield browser


@pytest.fixture
def stub(server: StubServer) -> StubServer:
    """The module's server, emptied for this test."""
    StubClient(server.url).reset()
    return server


@pytest.fixture
def api(stub: StubServer) -> StubClient:
    return StubClient(stub.url)


@pytest.fixture
def ui(browser: Browser, stub: StubServer) -> Iterator[UI]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    recorded = UI(page, stub.url)
    page.on("console", lambda m: m.type == "error" and recorded.console_errors.append(m.text))
    page.on("pageerror", lambda error: recorded.console_errors.append(str(error)))
    page.on("request", lambda request: recorded.requests.append(request.url))
    try:
        yield recorded
    finally:
        context.close()


@contextlib.contextmanager
def sdk(dsn: str, **options: object) -> Iterator[None]:
    """A sentry-sdk client with fresh scopes for the block; flushed (so stored) at its end."""
    with sentry_client(dsn, default_integrations=False, **options):
        yield


def send_error(dsn: str, **options: object) -> str:
    """A `ValueError` with a tag, a user and a breadcrumb, as an app would report it."""
    with sdk(dsn, **options):
        sentry_sdk.set_tag("feature", "checkout")
        sentry_sdk.set_user({"id": "user-42", "email": "dev@example.com"})
        sentry_sdk.add_breadcrumb(category="ui.click", message="clicked pay", level="info")
        try:
            raise ValueError("card declined")
        except ValueError:
            event_id = sentry_sdk.capture_exception()
    assert event_id is not None
    return event_id


def send_message(dsn: str, message: str, level: str = "info", **options: object) -> str:
    with sdk(dsn, **options):
        event_id = sentry_sdk.capture_message(message, level=level)
    assert event_id is not None
    return event_id


def table_rows(page: Page, selector: str) -> list[list[str]]:
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))"
    )


def test_every_page_loads_without_errors_or_requests_to_other_hosts(
    ui: UI, stub: StubServer
) -> None:
    event_id = send_error(stub.dsn, environment="production")
    with sdk(stub.dsn):
        sentry_sdk.get_isolation_scope().add_attachment(bytes=ATTACHMENT, filename="dump.bin")
        sentry_sdk.capture_message("with an attachment")

    for route in (
        "/events",
        f"/events/{event_id}",
        "/envelopes",
        "/discover?field=environment&field=count()",
        "/projects",
    ):
        ui.open(route)
        expect(ui.page.locator(".error")).to_have_count(0)
    # The projects page, last opened, shows the DSN and the snippets that use it.
    expect(ui.page.locator(".dsn code")).to_have_text(stub.dsn)
    expect(ui.page.locator(".snippet pre").first).to_contain_text(f'dsn="{stub.dsn}"')

    assert ui.console_errors == []
    server = urlsplit(stub.url).netloc
    assert {urlsplit(url).netloc for url in ui.requests} == {server}


def test_ui_responses_carry_a_strict_content_security_policy(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url) as client:
        index = client.get("/")
        script = client.get("/app.js")
        missing = client.get("/no-such-file.js")
        wrong_method = client.get("/stub/api/reset")

    assert index.status_code == 200
    assert '<script type="module" src="/app.js">' in index.text
    for response in (index, script):
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'self';")
        assert "'unsafe-inline'" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    # The UI answers only what no route claims: the API keeps its own answers.
    assert wrong_method.status_code == 405


def test_an_event_sent_with_the_sdk_appears_without_a_reload(ui: UI, stub: StubServer) -> None:
    ui.open("/events")
    expect(ui.page.get_by_text("No events yet")).to_be_visible()
    ui.live()
    ui.page.evaluate("window.__sameDocument = true")

    send_message(stub.dsn, "checkout took too long", level="warning")

    expect(ui.page.get_by_role("link", name="checkout took too long")).to_be_visible()
    assert ui.page.evaluate("window.__sameDocument") is True


def test_markup_in_an_event_is_shown_as_text(ui: UI, stub: StubServer) -> None:
    send_message(stub.dsn, XSS, level="error")

    ui.open("/events")
    link = ui.page.get_by_role("link", name=XSS, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(ui.page.locator("h1.title")).to_have_text(XSS)

    assert ui.page.locator("main img").count() == 0
    assert ui.page.evaluate("window.__xss") is None


def test_the_search_box_filters_and_shows_the_column_of_a_query_error(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    send_error(stub.dsn)
    send_message(stub.dsn, "cache warmed", level="info")
    ui.open("/events")
    expect(ui.page.locator("table.events tbody tr")).to_have_count(2)

    search = ui.page.get_by_role("searchbox", name="Search")
    search.fill("level:error")
    search.press("Enter")

    expect(ui.page.locator("table.events tbody tr")).to_have_count(1)
    [row] = table_rows(ui.page, "table.events")
    assert row[1:4] == ["ValueError: card declined", "error", "error"]

    malformed = "level:error (("
    ui.page.get_by_role("searchbox", name="Search").fill(malformed)
    ui.page.get_by_role("button", name="Search").click()

    with httpx.Client(base_url=stub.url) as client:
        expected = client.get("/stub/api/events", params={"query": malformed}).json()
    alert = ui.page.get_by_role("alert")
    expect(alert.locator("p")).to_have_text(expected["detail"])
    caret = alert.locator("pre.caret").text_content()
    assert caret == f"{malformed}\n{' ' * (expected['column'] - 1)}^"


def test_query_warnings_show_beside_the_search_on_events_and_discover(
    ui: UI, stub: StubServer
) -> None:
    send_error(stub.dsn)
    ui.open("/events?query=type%3Aerror")
    warnings = ui.page.get_by_role("list", name="Query warnings").locator("li")
    expect(warnings).to_have_count(1)
    expect(warnings).to_contain_text("did you mean `event.type:error`")

    search = ui.page.get_by_role("searchbox", name="Search")
    search.fill("event.type:error")
    search.press("Enter")
    expect(ui.page.locator("table.events tbody tr")).to_have_count(1)
    expect(ui.page.get_by_role("list", name="Query warnings").locator("li")).to_have_count(0)

    ui.open("/discover")
    ui.page.get_by_role("textbox", name="Pipe query").fill("event.type = 'error' | count()")
    ui.page.locator("#pipe-form").get_by_role("button", name="Run").click()
    warning = ui.page.get_by_role("list", name="Query warnings").locator("li")
    expect(warning).to_contain_text("is SQL, not Sentry search syntax")
    assert ui.page.locator(".query-warnings li code, .query-warnings li b").count() == 0


def test_event_detail_shows_tags_user_breadcrumbs_and_both_json_views(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    event_id = send_error(stub.dsn, release="shop@1.2.3")
    record = api.event(event_id)

    ui.open(f"/events/{event_id}")

    expect(ui.page.locator("h1.title")).to_have_text("ValueError: card declined")
    assert ["feature", "checkout"] in table_rows(ui.page, "table.tags")
    assert ["id", "user-42"] in table_rows(ui.page, "section:has(h2:text-is('User')) table")
    assert table_rows(ui.page, "table.breadcrumbs")[0][1:] == ["ui.click", "info", "clicked pay"]
    expect(ui.page.locator(".exception h3")).to_have_text("ValueError: card declined")
    expect(ui.page.locator(".frame[open] .current")).to_contain_text('raise ValueError("card')

    sent = json.loads(ui.page.locator("#json-sent").text_content() or "")
    stored = json.loads(ui.page.locator("#json-stored").text_content() or "")
    assert sent == record["data"]
    assert stored == record["stored"]
    assert sent != stored


def test_discover_counts_events_by_environment(ui: UI, stub: StubServer) -> None:
    for environment in ("production", "production", "staging"):
        send_message(stub.dsn, "deploy finished", environment=environment)

    ui.open("/discover")
    ui.page.get_by_role("textbox", name="Fields").fill("environment, count()")
    ui.page.get_by_role("textbox", name="Sort").fill("-count()")
    ui.page.locator("#discover-form").get_by_role("button", name="Run").click()

    expect(ui.page.locator("table.discover-result tbody tr")).to_have_count(2)
    headings = ui.page.locator("table.discover-result th").all_text_contents()
    assert headings == ["environment string", "count() integer"]
    assert table_rows(ui.page, "table.discover-result") == [["production", "2"], ["staging", "1"]]

    ui.page.get_by_role("textbox", name="Pipe query").fill(
        "| count() by environment | sort by count ASC"
    )
    ui.page.locator("#pipe-form").get_by_role("button", name="Run").click()

    expect(ui.page.locator("table.discover-result tbody tr").first).to_contain_text("staging")
    assert table_rows(ui.page, "table.discover-result") == [["staging", "1"], ["production", "2"]]


def test_an_attachment_downloads_with_its_exact_bytes(ui: UI, stub: StubServer) -> None:
    with sdk(stub.dsn):
        sentry_sdk.get_isolation_scope().add_attachment(bytes=ATTACHMENT, filename="dump.bin")
        sentry_sdk.capture_message("with an attachment")

    ui.open("/envelopes")
    row = ui.page.locator("table.items tbody tr", has_text="dump.bin")
    expect(row).to_contain_text("attachment")
    with ui.page.expect_download() as download:
        row.get_by_role("link", name="Download").click()

    assert download.value.suggested_filename == "dump.bin"
    with open(download.value.path(), "rb") as file:
        assert file.read() == ATTACHMENT


def test_an_envelope_links_to_the_event_made_of_it_and_only_then(ui: UI, stub: StubServer) -> None:
    """The link follows the derived event, not the item types: an event sent as a MessagePack
    attachment (as the native SDKs do) has one, an event item whose JSON is broken has none."""
    packed, broken = "a" * 32, "b" * 32
    event = msgpack.packb({"event_id": packed, "message": "from an attachment"})
    attachment = {"type": "attachment", "attachment_type": "event.payload", "length": len(event)}
    header = json.dumps({"event_id": packed}).encode()
    assert post_raw(stub, b"\n".join([header, json.dumps(attachment).encode(), event])).is_success
    not_json = b'{"event_id": "%s", "message": ' % broken.encode()
    assert post_raw(
        stub, b"\n".join([b'{"event_id": "%s"}' % broken.encode(), b'{"type": "event"}', not_json])
    ).is_success

    ui.open("/envelopes")
    cards = ui.page.locator("article.envelope")
    expect(cards).to_have_count(2)
    made = cards.filter(has_text="event.payload").get_by_role("link", name="event", exact=True)
    expect(made).to_have_attribute("href", f"#/events/{packed}")
    not_made = cards.filter(has_not_text="event.payload")
    expect(not_made.get_by_role("link", name="event", exact=True)).to_have_count(0)


def test_reset_deletes_everything_only_after_confirmation(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    send_message(stub.dsn, "before the reset")
    ui.open("/events")
    expect(ui.page.get_by_role("link", name="before the reset")).to_be_visible()

    ui.page.once("dialog", lambda dialog: dialog.dismiss())
    ui.page.get_by_role("button", name="Reset").click()
    expect(ui.page.get_by_role("link", name="before the reset")).to_be_visible()
    assert len(api.events()) == 1

    ui.page.once("dialog", lambda dialog: dialog.accept())
    ui.page.get_by_role("button", name="Reset").click()
    expect(ui.page.get_by_text("No events yet")).to_be_visible()
    assert api.events() == []


def test_the_ui_reads_an_event_as_the_search_does(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    """Sent as one exception object with level critical: Sentry's title, level fatal."""
    key = stub.dsn.split("//")[1].split("@")[0]
    event = {"event_id": "f" * 32, "level": "critical", "platform": "python"}
    event["exception"] = {"type": "ValueError", "value": "one object"}
    lines = [json.dumps({"event_id": "f" * 32}), json.dumps({"type": "event"}), json.dumps(event)]
    httpx.post(
        f"{stub.url}/api/1/envelope/",
        content="\n".join(lines),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
    ).raise_for_status()

    ui.open("/events")
    [row] = table_rows(ui.page, "table.events")
    assert row[1:4] == ["ValueError: one object", "error", "fatal"]
    ui.page.get_by_role("link", name="ValueError: one object").click()
    expect(ui.page.locator(".exception h3")).to_have_text("ValueError: one object")
    expect(ui.page.locator(".facts")).to_contain_text("fatal")
