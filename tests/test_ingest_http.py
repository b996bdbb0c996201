"""The ingest routes over real HTTP, answering as Relay answers (spec sections 1-5 and 12).

A real in-process server (``StubServer``) on 127.0.0.1, driven with httpx: status codes, exact
error bodies, CORS headers, encodings, limits, and what is (or is not) stored.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import pytest
import zstandard

from sentry_stub import StubServer

FIXTURES = Path(__file__).parent / "fixtures"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
DASHED_ID = "9ec79c33-ec99-42ab-8353-589fcb2e04dc"
SIZE_LIMITS = "(https://develop.sentry.dev/sdk/envelopes/#size-limits)"
BACKEND_KEY = "b" * 32
FRONTEND_KEY = "f" * 32
STRICT_CONFIG = f"""
[[projects]]
slug = "agentsflowai-backend"
id = 11
keys = ["{BACKEND_KEY}"]

[[projects]]
slug = "agentsflowai-frontend"
id = 12
keys = ["{FRONTEND_KEY}"]
"""


class Stub:
    """A running server plus the few calls the tests make against it."""

    def __init__(self, server: StubServer):
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)
        dsn = httpx.URL(server.dsn)
        self.key = dsn.username
        self.project = int(dsn.path.strip("/"))

    def dsn(self, key: str | None = None, project: int | None = None) -> str:
        host = f"127.0.0.1:{self.server.settings.port}"
        return f"http://{key or self.key}@{host}/{project or self.project}"

    def post(
        self,
        body: bytes,
        *,
        project: int | str | None = None,
        key: str | None = None,
        query: str | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        """POST to the envelope route; X-Sentry-Auth unless ``query`` or ``headers`` carry auth."""
        headers = dict(headers or {})
        if query is None and not any(
            h.lower() in ("x-sentry-auth", "authorization") for h in headers
        ):
            headers["X-Sentry-Auth"] = f"Sentry sentry_key={key or self.key}, sentry_version=7"
        url = f"/api/{project or self.project}/envelope/" + (f"?{query}" if query else "")
        return self.http.post(url, content=body, headers=headers)

    def cursor(self) -> int:
        return self.http.get("/stub/api/cursor").json()["cursor"]

    def envelopes(self) -> list[dict]:
        return self.http.get("/stub/api/envelopes", params={"limit": 10000}).json()["data"]

    def last_envelope(self) -> dict:
        return self.envelopes()[-1]


@pytest.fixture(scope="module")
def stub(server: StubServer) -> Iterator[Stub]:
    stub = Stub(server)
    yield stub
    stub.http.close()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    config = tmp_path_factory.mktemp("strict") / "sentry-stub.toml"
    config.write_text(STRICT_CONFIG)
    with StubServer(config=config) as server:
        stub = Stub(server)
        yield stub
        stub.http.close()


def envelope(*items: tuple[dict, bytes], **headers: object) -> bytes:
    lines = [json.dumps(headers).encode()]
    for item_headers, payload in items:
        lines += [json.dumps({**item_headers, "length": len(payload)}).encode(), payload]
    return b"\n".join(lines) + b"\n"


def event(**fields: object) -> tuple[dict, bytes]:
    return {"type": "event"}, json.dumps({"message": "hello", **fields}).encode()


def session() -> tuple[dict, bytes]:
    payload = {"sid": "a" * 32, "started": "2024-06-10T06:13:20Z", "attrs": {"release": "1.0"}}
    return {"type": "session"}, json.dumps(payload).encode()


# --- authentication (spec 2, vectors 16-17) -----------------------------------------------


def test_16_every_auth_source_is_accepted(stub: Stub) -> None:
    body = envelope(event(), event_id=EVENT_ID)
    by_query = stub.post(body, query=f"sentry_key={stub.key}&sentry_version=7")
    by_header = stub.post(body)
    by_authorization = stub.post(body, headers={"Authorization": f"Sentry sentry_key={stub.key}"})
    basic = base64.b64encode(f"{stub.key}:".encode()).decode()
    by_basic = stub.post(body, headers={"Authorization": f"Basic {basic}"})
    tunnel = envelope(event(), event_id=EVENT_ID, dsn=stub.dsn())
    by_dsn = stub.http.post(f"/api/{stub.project}/envelope/", content=tunnel)
    for response in (by_query, by_header, by_authorization, by_basic, by_dsn):
        assert (response.status_code, response.json()) == (200, {"id": EVENT_ID})


def test_17_lowercase_prefix_no_spaces_dotted_version(stub: Stub) -> None:
    auth = f"sentry sentry_key={stub.key},sentry_version=7.0"
    response = stub.post(envelope(event()), headers={"X-Sentry-Auth": auth})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "query", "status", "body"),
    [
        (
            {"X-Sentry-Auth": "Sentry sentry_key={key}"},
            "sentry_key={key}",
            401,
            {"detail": "multiple authorization payloads detected"},
        ),
        (
            {
                "X-Sentry-Auth": "Sentry sentry_key={key}",
                "Authorization": "Sentry sentry_key={key}",
            },
            None,
            401,
            {"detail": "multiple authorization payloads detected"},
        ),
        # Without request auth the envelope route falls back to the header's dsn (Relay's tunnel
        # support), so a Bearer or "DSN" header ends in that check; see also the store route.
        (
            {"Authorization": "Bearer x"},
            None,
            401,
            {
                "detail": "bad envelope authentication header",
                "causes": ["no request auth and no dsn in the envelope header"],
            },
        ),
        (
            {"Authorization": "DSN http://{key}@h/1"},
            None,
            401,
            {
                "detail": "bad envelope authentication header",
                "causes": ["no request auth and no dsn in the envelope header"],
            },
        ),
        (
            {"X-Sentry-Auth": "Sentry sentry_version=7"},
            None,
            401,
            {"detail": "bad x-sentry-auth header", "causes": ["missing public key in auth header"]},
        ),
        (
            {},
            "sentry_client=sentry.javascript.browser%2F8.0.0",
            401,
            {"detail": "bad x-sentry-auth header", "causes": ["missing public key in auth header"]},
        ),
        (
            {"X-Sentry-Auth": "Sentry sentry_key={key}, sentry_version=seven"},
            None,
            401,
            {"detail": "bad x-sentry-auth header", "causes": ["invalid value for version"]},
        ),
        (
            {"X-Sentry-Auth": "Sentry sentry_key={key}, sentry_version="},
            None,
            401,
            {"detail": "bad x-sentry-auth header", "causes": ["invalid value for version"]},
        ),
        (
            {},
            "sentry_key={key}&sentry_version=8",
            400,
            {"detail": "unsupported protocol version (8)"},
        ),
        (
            # A malformed X-Sentry-Auth is refused before the second source is even looked at.
            {"X-Sentry-Auth": "Sentry sentry_version=x"},
            "sentry_key={key}",
            401,
            {"detail": "bad x-sentry-auth header", "causes": ["invalid value for version"]},
        ),
    ],
)
def test_auth_errors_are_relays(
    stub: Stub, headers: dict, query: str | None, status: int, body: dict
) -> None:
    headers = {name: value.format(key=stub.key) for name, value in headers.items()}
    query = query.format(key=stub.key) if query else None
    before = stub.cursor()
    response = stub.post(envelope(event()), headers=headers, query=query)
    assert (response.status_code, response.json()) == (status, body)
    assert stub.cursor() == before


@pytest.mark.parametrize("authorization", ["Bearer x", "DSN http://public@h/1"])
def test_routes_without_tunnel_fallback_answer_missing_auth(stub: Stub, authorization: str) -> None:
    response = stub.http.post(
        f"/api/{stub.project}/store/", content=b"{}", headers={"Authorization": authorization}
    )
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "missing authorization information"},
    )


def test_malformed_basic_auth_is_ignored_like_relay(stub: Stub) -> None:
    response = stub.http.post(
        f"/api/{stub.project}/envelope/?sentry_key={stub.key}",
        content=envelope(event()),
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert response.status_code == 200


def test_envelope_header_auth_errors(stub: Stub) -> None:
    url = f"/api/{stub.project}/envelope/"
    no_dsn = stub.http.post(url, content=envelope(event()))
    assert (no_dsn.status_code, no_dsn.json()["detail"]) == (
        401,
        "bad envelope authentication header",
    )
    bad_dsn = stub.http.post(url, content=envelope(event(), dsn="https://key@host/project"))
    assert bad_dsn.status_code == 401
    assert bad_dsn.json() == {
        "detail": "bad envelope authentication header",
        "causes": ["dsn 'https://key@host/project' does not end in a numeric project id"],
    }
    empty = stub.http.post(url, content=b"")
    assert (empty.status_code, empty.json()["detail"]) == (
        401,
        "bad envelope authentication header",
    )


def test_non_numeric_project_in_the_path(stub: Stub) -> None:
    response = stub.post(envelope(event()), project="abc")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "bad project path parameter"},
    )


def test_open_mode_takes_a_short_key_and_notes_it(stub: Stub) -> None:
    response = stub.post(envelope(event()), key="public")
    assert response.status_code == 200
    [note] = [n for n in stub.last_envelope()["notes"] if "public key" in n]
    assert "'public' has 6 characters; Relay requires 32" in note


def test_strict_mode_refuses_as_relay(strict: Stub) -> None:
    body = envelope(event())
    ok = strict.post(body, project=11, key=BACKEND_KEY)
    assert ok.status_code == 200
    rejected = {"detail": "event submission rejected with_reason: ProjectId"}
    unknown = strict.post(body, project=11, key="c" * 32)
    other_project = strict.post(body, project=11, key=FRONTEND_KEY)
    unknown_project = strict.post(body, project=99, key=BACKEND_KEY)
    for response in (unknown, other_project, unknown_project):
        assert (response.status_code, response.json()) == (403, rejected)
    short = strict.post(body, project=11, key="b" * 31)
    assert (short.status_code, short.json()) == (
        400,
        {"detail": "bad sentry DSN public key", "causes": ["invalid project key"]},
    )
    # The key is checked before the version, as in Relay's request extractor.
    short_v8 = strict.post(body, project=11, query=f"sentry_key={'b' * 31}&sentry_version=8")
    assert short_v8.json()["detail"] == "bad sentry DSN public key"
    tunnel = envelope(event(), dsn=strict.dsn(key="b" * 31, project=11))
    short_dsn = strict.http.post("/tunnel", content=tunnel)
    assert (short_dsn.status_code, short_dsn.json()) == (
        401,
        {"detail": "bad envelope authentication header", "causes": ["invalid project key"]},
    )


# --- CORS (spec 3, vector 32) ----------------------------------------------------------------


def test_32_preflight(stub: Stub) -> None:
    response = stub.http.options(
        f"/api/{stub.project}/envelope/",
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-sentry-auth,content-type",
        },
    )
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "3600"
    assert response.headers["access-control-allow-methods"] == "POST"
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"x-sentry-auth", "content-type", "content-encoding", "authorization"} <= allowed


def test_cors_headers_on_real_responses_and_text_plain_bodies(stub: Stub) -> None:
    ok = stub.post(
        envelope(event(), event_id=EVENT_ID),
        query=f"sentry_key={stub.key}&sentry_version=7&sentry_client=sentry.javascript.browser%2F8",
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://app.example"},
    )
    refused = stub.post(envelope(event()), headers={"Authorization": "Bearer x"})
    for response, status in ((ok, 200), (refused, 401)):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-expose-headers"] == (
            "x-sentry-error, x-sentry-rate-limits, retry-after"
        )
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    health = stub.http.get("/api/relay/healthcheck/live/")
    assert "access-control-allow-origin" not in health.headers


# --- encodings (spec 4.1, vectors 18-19) ------------------------------------------------------

ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "": lambda data: data,
    "utf-8": lambda data: data,
    "identity": lambda data: data,
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_18_content_encodings(stub: Stub, encoding: str) -> None:
    body = envelope(event(), event_id=EVENT_ID)
    response = stub.post(ENCODERS[encoding](body), headers={"Content-Encoding": encoding})
    assert (response.status_code, response.json()) == (200, {"id": EVENT_ID})
    assert base64.b64decode(stub.last_envelope()["raw"]) == body


def test_18_unknown_encoding_is_415_and_corrupt_stream_400(stub: Stub) -> None:
    lzma = stub.post(envelope(event()), headers={"Content-Encoding": "lzma"})
    assert lzma.status_code == 415
    assert "lzma" in lzma.json()["detail"]
    corrupt = stub.post(b"\x1f\x8b\x08garbage", headers={"Content-Encoding": "gzip"})
    assert corrupt.status_code == 400
    assert corrupt.json()["detail"] == "invalid gzip body"


def test_19_chunked_body_without_content_length(stub: Stub) -> None:
    body = envelope(event(), event_id=EVENT_ID)
    seen: dict = {}

    def chunks() -> Iterator[bytes]:
        yield from (body[:10], body[10:])

    def record(request: httpx.Request) -> None:
        seen.update(request.headers)

    with httpx.Client(base_url=stub.server.url, event_hooks={"request": [record]}) as client:
        response = client.post(
            f"/api/{stub.project}/envelope/?sentry_key={stub.key}", content=chunks()
        )
    assert (response.status_code, response.json()) == (200, {"id": EVENT_ID})
    assert seen.get("transfer-encoding") == "chunked" and "content-length" not in seen


# --- limits (spec 4.2-4.3, vectors 20-21) ----------------------------------------------------


def padded_event(size: int) -> tuple[dict, bytes]:
    """An event item of exactly ``size`` bytes (padding in ``extra``, not in the message)."""
    payload = json.dumps({"extra": {"padding": ""}}).encode()
    return {"type": "event"}, payload.replace(b'""', b'"' + b"x" * (size - len(payload)) + b'"')


def test_20_event_over_one_mib(stub: Stub) -> None:
    at_limit = stub.post(envelope(padded_event(1024 * 1024)))
    assert at_limit.status_code == 200
    before = stub.cursor()
    over = stub.post(envelope(padded_event(1024 * 1024 + 1)))
    assert (over.status_code, over.json()) == (
        413,
        {"detail": f"envelope exceeded size limits for type 'event' {SIZE_LIMITS}"},
    )
    assert stub.cursor() == before


@pytest.mark.parametrize(
    "items",
    [
        [event(), event()],
        [event(), ({"type": "replay_event"}, b"{}")],
        [session() for _ in range(101)],
    ],
    ids=["two-events", "event-and-replay-event", "101-sessions"],
)
def test_20_item_counts(stub: Stub, items: list) -> None:
    response = stub.post(envelope(*items))
    assert response.status_code == 413
    assert response.json()["detail"].startswith("envelope exceeded size limits for type '")


def test_20_one_hundred_sessions_are_fine(stub: Stub) -> None:
    assert stub.post(envelope(*[session() for _ in range(100)])).status_code == 200


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def zstd_bomb(size: int) -> bytes:
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    zeros = bytes(1024 * 1024)
    return b"".join(compressor.compress(zeros) for _ in range(size // len(zeros))) + (
        compressor.flush()
    )


def gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join(compressor.compress(zeros) for _ in range(size // len(zeros))) + (
        compressor.flush()
    )


def test_21_decompression_bombs_stop_at_the_limit(tmp_path: Path) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[limits]\nmax_envelope_size = 1048576\n")
    bombs = {"zstd": zstd_bomb(1024 * 1024 * 1024), "gzip": gzip_bomb(128 * 1024 * 1024)}
    with StubServer(config=config) as server:
        stub = Stub(server)
        for encoding, bomb in bombs.items():
            before = rss_kib()
            response = stub.post(bomb, headers={"Content-Encoding": encoding})
            grown_mib = (rss_kib() - before) / 1024
            assert response.status_code == 413, encoding
            assert response.json() == {
                "detail": "request body exceeds the size limit of 1048576 bytes"
            }
            assert grown_mib < 64, f"{encoding} bomb grew the server by {grown_mib:.0f} MiB"
        assert stub.envelopes() == []
        stub.http.close()


# --- framing errors store nothing ------------------------------------------------------------


def test_malformed_envelope_is_400_naming_the_item_and_stores_nothing(stub: Stub) -> None:
    before = (stub.cursor(), len(stub.envelopes()))
    body = envelope(event(), event_id=EVENT_ID) + b'{"type":"attachment","length":50}\nshort'
    response = stub.post(body)
    assert response.status_code == 400
    [cause] = response.json()["causes"]
    assert response.json()["detail"] == "invalid event envelope"
    assert cause.startswith("unexpected end of file: length 50 but only 5 bytes remain (item 1,")
    assert (stub.cursor(), len(stub.envelopes())) == before


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b'{}\n{"type":"event","length":2}\n{}\n\n', "unexpected end of file (item 1, byte 34)"),
        (b"{}\r\n", "missing newline after header or payload (byte 2)"),
        (
            b'{"sent_at":"2024-06-10T06:13:20Z","sent_at":"2024-06-10T06:13:20Z"}',
            "invalid envelope header: duplicate field `sent_at` (byte 0)",
        ),
        (
            b'{}\n{"type":"integration","length":2}\n{}',
            "envelope contains internal items",
        ),
    ],
    ids=["2-extra-newline", "9-crlf", "13-duplicate-sent_at", "12-internal-item"],
)
def test_framing_vectors_over_http(stub: Stub, body: bytes, cause: str) -> None:
    before = stub.cursor()
    response = stub.post(body)
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "invalid event envelope", "causes": [cause]},
    )
    assert stub.cursor() == before


def test_empty_body_with_auth(stub: Stub) -> None:
    response = stub.post(b"")
    assert (response.status_code, response.json()) == (400, {"detail": "empty request body"})


def test_11_and_14_unknown_items_and_numeric_sample_rate_are_accepted(stub: Stub) -> None:
    unknown = stub.post(envelope(({"type": "foo_bar"}, b"x")))
    assert (unknown.status_code, unknown.json()) == (200, {})
    dsc = stub.post(
        envelope(event(), event_id=EVENT_ID, trace={"trace_id": "a", "sample_rate": 0.5})
    )
    assert dsc.status_code == 200


# --- response bodies (spec 1) ------------------------------------------------------------------


def test_response_ids(stub: Stub) -> None:
    dashed = stub.post(envelope(event(), event_id=DASHED_ID))
    assert dashed.json() == {"id": EVENT_ID}
    assert stub.post(envelope(session())).json() == {}
    assert stub.post(b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}').json() == {"id": EVENT_ID}
    assert stub.post(b"{}").json() == {}
    generated = stub.post(envelope(event(message="needs an id"))).json()["id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    stored = stub.http.get(f"/stub/api/events/{generated}")
    assert stored.status_code == 200
    assert stored.json()["event_id"] == generated
    attachment_only = stub.post(envelope(({"type": "attachment"}, b"log"))).json()
    assert len(attachment_only["id"]) == 32


# --- tunnel and envelope-header consistency (spec 2.3, vector 15) ------------------------------


def test_tunnel_endpoint_uses_the_dsn(stub: Stub) -> None:
    response = stub.http.post(
        "/tunnel", content=envelope(event(), event_id=EVENT_ID, dsn=stub.dsn(project=7))
    )
    assert (response.status_code, response.json()) == (200, {"id": EVENT_ID})
    stored = stub.last_envelope()
    assert (stored["project_id"], stored["endpoint"], stored["public_key"]) == (
        7,
        "tunnel",
        stub.key,
    )


def test_15_dsn_header_must_match_the_request(stub: Stub) -> None:
    other_project = stub.post(envelope(event(), dsn=stub.dsn(project=2)), project=1)
    assert (other_project.status_code, other_project.json()) == (
        400,
        {
            "detail": "invalid event envelope",
            "causes": ["project id header mismatch between envelope and request"],
        },
    )
    other_key = stub.post(envelope(event(), dsn=stub.dsn(key="c" * 32)))
    assert other_key.json()["causes"] == ["public key header mismatch between envelope and request"]
    unparsable = stub.post(envelope(event(), dsn="https:\\/\\/key@o1.ingest.sentry.io\\/project"))
    assert unparsable.status_code == 400
    assert unparsable.json()["causes"][0].startswith("invalid envelope header: dsn ")


def test_tunnel_auth_ignores_the_url_project_as_relay_does(stub: Stub) -> None:
    response = stub.http.post(
        "/api/3/envelope/", content=envelope(event(), dsn=stub.dsn(project=4))
    )
    assert response.status_code == 200
    stored = stub.last_envelope()
    assert stored["project_id"] == 4
    assert any("URL names project 3" in note for note in stored["notes"])


def test_origin_header_must_match_the_request(stub: Stub) -> None:
    body = envelope(event(), origin="http://app.example")
    missing = stub.post(body)
    assert missing.json()["causes"] == ["origin header mismatch between envelope and request"]
    other = stub.post(body, headers={"Origin": "http://evil.example"})
    assert other.status_code == 400
    same = stub.post(body, headers={"Origin": "http://app.example"})
    assert same.status_code == 200


# --- other routes (spec 1, vectors 27-31) -----------------------------------------------------


def test_29_store_endpoint(stub: Stub) -> None:
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={stub.key}, sentry_version=7"}
    event_json = json.dumps({"event_id": EVENT_ID, "message": "stored"}).encode()
    packed = base64.b64encode(zlib.compress(event_json))
    response = stub.http.post(f"/api/{stub.project}/store/", content=packed, headers=auth)
    assert (response.status_code, response.json()) == (200, {"id": EVENT_ID})
    as_envelope = stub.http.post(
        "/api/store/",
        content=envelope(event(), event_id=DASHED_ID),
        headers={**auth, "Content-Type": "application/x-sentry-envelope"},
    )
    assert (as_envelope.status_code, as_envelope.json()) == (200, {"id": EVENT_ID})
    pixel = stub.http.get(
        f"/api/{stub.project}/store/",
        params={"sentry_key": stub.key, "sentry_data": '{"message":"from a pixel"}'},
    )
    assert (pixel.status_code, pixel.headers["content-type"]) == (200, "image/gif")
    invalid = stub.http.post(f"/api/{stub.project}/store/", content=b"{not json", headers=auth)
    assert invalid.status_code == 400


def test_minidump_route_answers_with_a_dashed_id(stub: Stub) -> None:
    dump = (FIXTURES / "minidumps" / "symbolicator__windows.dmp").read_bytes()
    response = stub.http.post(
        f"/api/{stub.project}/minidump/?sentry_key={stub.key}",
        files={"upload_file_minidump": ("crash.dmp", dump)},
        data={"sentry[event_id]": EVENT_ID},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == DASHED_ID


def test_unreal_route_answers_with_a_dashed_id(stub: Stub) -> None:
    report = (FIXTURES / "unreal" / "symbolic__unreal_crash.REDACTED").read_bytes()
    response = stub.http.post(f"/api/{stub.project}/unreal/{stub.key}/", content=report)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert len(response.text) == 36 and response.text.count("-") == 4


def test_30_security_route_refuses_text_plain(stub: Stub) -> None:
    report = json.dumps(
        {"csp-report": {"document-uri": "http://a.example/", "violated-directive": "x"}}
    )
    url = f"/api/{stub.project}/security/?sentry_key={stub.key}"
    refused = stub.http.post(url, content=report, headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
    accepted = stub.http.post(
        url, content=report, headers={"Content-Type": "application/csp-report"}
    )
    assert (accepted.status_code, accepted.content) == (200, b"")


def test_31_cron_get(stub: Stub) -> None:
    response = stub.http.get(
        f"/api/{stub.project}/cron/my-job/{stub.key}/", params={"status": "ok"}
    )
    assert (response.status_code, response.content) == (202, b"")


@pytest.mark.parametrize(
    "path", ["/api/relay/healthcheck/ready/", "/api/relay/healthcheck/live/", "/api/0/relays/live/"]
)
def test_health_endpoints(stub: Stub, path: str) -> None:
    response = stub.http.get(path)
    assert (response.status_code, response.json()) == (200, {"is_healthy": True})
