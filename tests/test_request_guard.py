"""The Host allow-list and the refusal of cross-site writes, over HTTP against `sentry-stub serve`.

Each refusal is the reproduction of issue 12 (curl's requests, sent with httpx) and is followed
by a look at the state it tried to change; each has its twin that an allowed client sends and
that succeeds. Ingest stays open to any Host and Origin, as Relay's is.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_tests.support import ServerProcess
from sentry_stub.config import ConfigError, load_settings
from sentry_stub.ingest.guard import HostAllowList, HostNameError, allowed_host_name, host_name

KEY = "0123456789abcdef0123456789abcdef"
EVIL = "http://evil.example"
RELEASE = {"version": "evil@1", "projects": ["web"]}
TOKEN = {"Authorization": "Bearer ci-token"}


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("guard") / "guard.sqlite3") as server:
        yield server


@pytest.fixture
def http(stub: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stub.url) as client:
        yield client


def send_event(http: httpx.Client, message: str, **headers: str) -> httpx.Response:
    """An event through the store route, with the DSN key in the query as browsers send it."""
    return http.post(f"/api/1/store/?sentry_key={KEY}", json={"message": message}, headers=headers)


def state(http: httpx.Client) -> tuple[int, list, list]:
    """What the refused requests tried to change: events, fault rules, releases."""
    events = http.get("/stub/api/events").json()["data"]
    faults = http.get("/stub/api/faults").json()["data"]
    releases = http.get("/stub/api/releases").json()["data"]
    return len(events), faults, releases


def assert_misdirected(response: httpx.Response, host: str) -> None:
    assert response.status_code == 421, response.text
    body = response.json()
    assert body["host"] == host
    assert body["allow_with"] == f"--allowed-host {host}"
    assert f"Host {host!r} is not allowed" in body["detail"]
    assert "SENTRY_STUB_ALLOWED_HOSTS" in body["detail"]


def test_cross_site_writes_of_the_issue_are_refused_and_change_nothing(
    http: httpx.Client,
) -> None:
    assert send_event(http, "kept").status_code == 200
    assert http.post("/stub/api/faults", json={"kind": "status", "status": 429}).is_success
    before = state(http)
    text = {"Content-Type": "text/plain"}
    refusals = {
        "Origin": http.post("/stub/api/reset", content=b"x", headers={"Origin": EVIL, **text}),
        "Content-Type": http.post("/stub/api/faults", content=b'{"kind": "drop"}', headers=text),
        "(sent: none)": http.post("/stub/api/reset"),
        "'application/x-www-form-urlencoded'": http.post("/stub/api/reset", data={"a": "b"}),
        "Sec-Fetch-Site": http.post(
            "/stub/api/reset", json={}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
        "Origin 'null'": http.post("/stub/api/reset", json={}, headers={"Origin": "null"}),
        "Origin 'http://evil.example'": http.delete("/stub/api/faults", headers={"Origin": EVIL}),
    }
    for reason, response in refusals.items():
        assert response.status_code == 403, (reason, response.text)
        assert response.json()["detail"].startswith("cross-site write refused: ")
        assert reason in response.json()["detail"]
    assert state(http) == before
    assert http.delete("/stub/api/faults").is_success


def test_a_form_post_passes_the_guard_only_where_it_can_change_nothing_unasked(
    http: httpx.Client,
) -> None:
    """sentry-cli posts multipart to the web API, whose routes ask for a bearer token (which a
    page cannot send cross-site): the JSON-only rule gives way there, and where no route takes
    the request (a sentry-cli upload the stub does not serve gets the answer of a path no
    route takes, not a 403 that blames the browser)."""
    before = state(http)
    upload = "/api/0/organizations/sentry/releases/guard@1/files/"
    without_token = http.post(upload, files={"file": ("a.js", b"x")}, data={"name": "~/a.js"})
    assert without_token.status_code == 401, without_token.text  # the route's own answer
    unserved = http.post("/api/0/projects/sentry/web/files/dsyms/", files={"file": ("a", b"x")})
    assert unserved.status_code == 405, unserved.text  # the web UI's files take GET only
    faults = http.post("/stub/api/faults", data={"kind": "drop"})
    assert faults.status_code == 403, faults.text
    assert faults.json()["detail"].startswith("cross-site write refused: a POST here needs")
    assert state(http) == before


def test_requests_naming_another_host_are_refused_and_change_nothing(
    stub: ServerProcess, http: httpx.Client
) -> None:
    assert send_event(http, "private").status_code == 200
    before = state(http)
    evil = {"Host": f"evil.example:{stub.port}"}
    discover = "/api/0/organizations/sentry/events/?field=message&field=user.email"
    for response in (
        http.get(discover, headers=evil),
        http.get("/stub/api/events", headers=evil),
        http.get("/", headers=evil),
        http.get("/app.js", headers=evil),
        http.post("/api/0/organizations/sentry/releases/", json=RELEASE, headers={**evil, **TOKEN}),
        http.post("/stub/api/reset", json={}, headers=evil),
        http.get("/stub/api/events", headers={"Host": "EVIL.example."}),
    ):
        assert_misdirected(response, "evil.example")
    assert state(http) == before


def test_allowed_hosts_and_same_origin_json_writes_succeed(
    stub: ServerProcess, http: httpx.Client
) -> None:
    assert send_event(http, "seen").status_code == 200
    for host in ("localhost", "LOCALHOST.", "127.0.0.1", "[::1]", "sentry-stub"):
        headers = {"Host": f"{host}:{stub.port}"}
        discover = http.get("/api/0/organizations/sentry/events/?field=message", headers=headers)
        assert discover.status_code == 200, (host, discover.text)
        assert http.get("/stub/api/events", headers=headers).json()["data"]
        assert http.get("/", headers=headers).status_code == 200
    same_origin = {
        "Host": f"localhost:{stub.port}",
        "Origin": f"http://localhost:{stub.port}",
        "Sec-Fetch-Site": "same-origin",
    }
    added = http.post("/stub/api/faults", json={"kind": "drop", "count": 1}, headers=same_origin)
    assert added.status_code == 201, added.text
    assert http.delete(f"/stub/api/faults/{added.json()['id']}", headers=same_origin).is_success
    release = http.post("/api/0/organizations/guard/releases/", json=RELEASE, headers=TOKEN)
    assert release.status_code == 201, release.text
    reset = http.post(
        "/stub/api/reset", headers={"Content-Type": "application/json", **same_origin}
    )
    assert reset.status_code == 200, reset.text
    assert http.get("/stub/api/events").json()["data"] == []


def test_ingest_and_health_checks_answer_any_host_and_origin(
    stub: ServerProcess, http: httpx.Client
) -> None:
    anywhere = {"Host": "evil.example", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    stored = send_event(http, "from any host", **anywhere)
    assert stored.status_code == 200, stored.text
    assert stored.headers["access-control-allow-origin"] == "*"
    envelope = b'{}\n{"type": "event"}\n{"message": "envelope from any host"}\n'
    sent = http.post(
        f"/api/1/envelope/?sentry_key={KEY}",
        content=envelope,
        headers={"Content-Type": "text/plain;charset=UTF-8", **anywhere},
    )
    assert sent.status_code == 200, sent.text
    preflight = http.options(
        "/api/1/envelope/",
        headers={**anywhere, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["access-control-allow-origin"] == "*"
    for health in ("/api/relay/healthcheck/ready/", "/api/relay/healthcheck/live/"):
        assert http.get(health, headers=anywhere).status_code == 200
    assert http.get("/api/0/relays/live/", headers=anywhere).status_code == 200
    messages = {e["data"]["message"] for e in http.get("/stub/api/events").json()["data"]}
    assert {"from any host", "envelope from any host"} <= messages


def test_query_api_grants_no_cross_origin_reads(http: httpx.Client) -> None:
    read = http.get("/stub/api/events", headers={"Origin": EVIL})
    assert read.status_code == 200
    assert not [h for h in read.headers if h.startswith("access-control-")]
    for path in ("/stub/api/reset", "/stub/api/events", "/api/0/organizations/sentry/events/"):
        preflight = http.options(
            path,
            headers={
                "Origin": EVIL,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert not preflight.is_success, (path, preflight.status_code)
        assert "access-control-allow-origin" not in preflight.headers


def test_allowed_host_flag_and_variable_add_names(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "db.sqlite3",
        arguments=("--allowed-host", "Stub.Test"),
        environment={"SENTRY_STUB_ALLOWED_HOSTS": "ci-runner, other.test"},
    )
    with server, httpx.Client(base_url=server.url) as http:
        for host in ("stub.test", "ci-runner", "other.test", "localhost"):
            answer = http.get("/stub/api/events", headers={"Host": f"{host}:{server.port}"})
            assert answer.status_code == 200, (host, answer.text)
        # The variable replaced the process's default list, which named the service.
        assert_misdirected(http.get("/", headers={"Host": "sentry-stub"}), "sentry-stub")
        # The stub's own origin under an allowed name may write; another port of it is another
        # origin (a second dev server on that name), as is another allowed name.
        own = {"Host": f"stub.test:{server.port}", "Origin": f"http://stub.test:{server.port}"}
        assert http.post("/stub/api/reset", json={}, headers=own).status_code == 200
        for origin in ("http://stub.test:3000", f"http://ci-runner:{server.port}"):
            elsewhere = {**own, "Origin": origin}
            refused = http.post("/stub/api/reset", json={}, headers=elsewhere)
            assert refused.status_code == 403, (origin, refused.text)
            assert "not the stub's own origin" in refused.json()["detail"]
        site = {**own, "Sec-Fetch-Site": "same-site"}
        assert http.post("/stub/api/reset", json={}, headers=site).status_code == 403
    banner = server.log.read_text()
    assert "allowed hosts (web UI and APIs; ingest answers any): " in banner
    assert "127.0.0.1, ::1, ci-runner, localhost, other.test, stub.test" in banner
    assert "WARNING" not in banner


def test_star_turns_the_host_check_off_with_a_warning(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "db.sqlite3", arguments=("--allowed-host", "*"))
    with server, httpx.Client(base_url=server.url) as http:
        assert http.get("/stub/api/events", headers={"Host": "evil.example"}).is_success
        origin = {"Host": "evil.example", "Origin": EVIL}
        assert http.post("/stub/api/reset", json={}, headers=origin).is_success
        # Writes still need what a web page cannot send without a preflight.
        text = http.post("/stub/api/reset", content=b"x", headers={"Origin": EVIL})
        assert text.status_code == 403
        cross = {"Sec-Fetch-Site": "cross-site"}
        assert http.post("/stub/api/reset", json={}, headers=cross).status_code == 403
    assert "WARNING: --allowed-host '*' turns the Host check off" in server.log.read_text()


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--allowed-host", "stub.test:8990"], {}, "--allowed-host: allowed host 'stub.test:8990'"),
        ([], {"SENTRY_STUB_ALLOWED_HOSTS": "a,http://b"}, "SENTRY_STUB_ALLOWED_HOSTS: allowed"),
    ],
)
def test_an_allowed_host_with_a_port_or_scheme_is_refused_at_start(
    tmp_path: Path, arguments: list[str], environment: dict[str, str], message: str
) -> None:
    server = ServerProcess(tmp_path / "db.sqlite3")
    env = {"PATH": str(Path(server.command()[0]).parent), **environment}
    done = subprocess.run(
        [*server.command(), *arguments, "--port", "0", "--db", str(server.db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "must be a host name or address without a port" in done.stderr


def test_allowed_hosts_and_tokens_from_file_variable_and_flag_add_up(tmp_path: Path) -> None:
    config = tmp_path / "sentry-stub.toml"
    config.write_text(
        '[server]\nallowed_hosts = ["From-Toml.", "[::2]"]\nauth_tokens = ["from-file"]\n'
    )
    settings = load_settings(
        config=str(config),
        allowed_hosts=["flag.test"],
        environ={"SENTRY_STUB_ALLOWED_HOSTS": "env.test", "SENTRY_STUB_AUTH_TOKENS": "a, b"},
    )
    assert settings.allowed_hosts == ("from-toml", "::2", "env.test", "flag.test")
    assert settings.auth_tokens == ("from-file", "a", "b")
    hosts = settings.host_allow_list
    assert hosts.names == {"localhost", "127.0.0.1", "::1", *settings.allowed_hosts}
    assert not hosts.any_host


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ('allowed_hosts = "a"', "server.allowed_hosts must be a list of strings"),
        ('allowed_hosts = ["a b"]', "server.allowed_hosts: allowed host 'a b' must be a host"),
        ("auth_tokens = [1]", "server.auth_tokens must be a list of strings"),
    ],
)
def test_bad_server_lists_in_the_file_are_named(tmp_path: Path, server: str, message: str) -> None:
    config = tmp_path / "sentry-stub.toml"
    config.write_text(f"[server]\n{server}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config=str(config), environ={})


@pytest.mark.parametrize("entry", ["*.example.com", "stub:8990", "http://stub", "a b", ""])
def test_an_allow_list_entry_must_be_a_bare_name(entry: str) -> None:
    with pytest.raises(HostNameError, match="without a port or wildcard"):
        allowed_host_name(entry)


def test_ipv6_hosts_compare_in_one_spelling() -> None:
    hosts = HostAllowList.for_server("127.0.0.1", ["[fd00:0:0::7]"])
    assert hosts.allows(host_name("[0:0::1]:8990")) and hosts.allows(host_name("[FD00::7]"))
    assert hosts.allows_url("http://[0:0:0::1]:8990")
    assert not hosts.allows(host_name("[fd00::8]:8990"))
