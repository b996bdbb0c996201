"""The sentry-cli web API: tokens, artifact bundles, chunks, and the routes over real HTTP.

The unit tests check the pure parts (org auth tokens, the bundle zip, chunk checks); the API
tests drive an in-process ``StubServer`` with httpx the way sentry-cli does (spec
``sentry-cli-api.md``), including the answers it needs to exit 0 and the refusals.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import struct
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.ingest.guard import HostAllowList
from sentry_stub.ingest.multipart import Part
from sentry_stub.webapi.artifact_bundles import ArtifactBundleError, parse_artifact_bundle
from sentry_stub.webapi.auth import (
    TokenError,
    TokenPolicy,
    bearer_token,
    mint_org_token,
    parse_org_token,
)
from sentry_stub.webapi.chunks import CHUNK_SIZE, chunks_from_parts, parse_assemble
from sentry_stub.webapi.values import BodyError

ORG = "acme"
HEADERS = {"Authorization": "Bearer test-token"}
STRICT_CONFIG = """
[server]
auth_tokens = ["test-token"]

[[projects]]
slug = "agentsflowai-frontend"
id = 12
keys = ["ffffffffffffffffffffffffffffffff"]
"""
DEBUG_ID = "b5ab05d1-3f2a-5b3a-80ab-21444723f16c"
MINIFIED = b"function a(){console.log(1)}\n//# sourceMappingURL=app.min.js.map\n"
SOURCE_MAP = b'{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}'


# --- org auth tokens ---------------------------------------------------------------------------


def test_minted_token_has_the_format_sentry_cli_parses() -> None:
    token = mint_org_token("http://127.0.0.1:8765/", "acme", issued_at=1700000000.0)
    prefix, payload, secret = token.split("_")
    assert prefix == "sntrys"
    # sentry-cli decodes the payload as padded standard base64 and the secret unpadded.
    assert json.loads(base64.b64decode(payload, validate=True)) == {
        "iat": 1700000000.0,
        "url": "http://127.0.0.1:8765",
        "region_url": "http://127.0.0.1:8765",
        "org": "acme",
    }
    assert "=" not in secret
    assert len(base64.b64decode(secret + "=" * (-len(secret) % 4))) == 32


def test_parse_org_token_reads_the_payload() -> None:
    token = parse_org_token(mint_org_token("http://stub:9000", "team-a", issued_at=5.0))
    assert (token.org, token.url, token.region_url, token.issued_at) == (
        "team-a",
        "http://stub:9000",
        "http://stub:9000",
        5.0,
    )


def policy(*, strict: bool, configured: tuple[str, ...] = ()) -> TokenPolicy:
    return TokenPolicy(strict, frozenset(configured), HostAllowList.for_server("127.0.0.1"))


def test_open_mode_takes_any_token_and_reads_the_org_of_org_tokens() -> None:
    open_mode = policy(strict=False)
    assert open_mode.organization("Bearer " + mint_org_token("http://stub", "team-b")) == "team-b"
    assert open_mode.organization("Bearer " + mint_org_token("https://sentry.io", "b")) == "b"
    assert open_mode.organization("Bearer sntryu_" + "a" * 64) is None
    assert open_mode.organization("Bearer " + "a" * 64) is None
    with pytest.raises(TokenError, match="not provided"):
        open_mode.organization(None)


def test_strict_mode_takes_configured_tokens_and_org_tokens_made_for_this_server() -> None:
    strict = policy(strict=True, configured=("ci-secret",))
    assert strict.organization("Bearer ci-secret") is None
    made_here = mint_org_token("http://localhost:8990", "acme")
    assert strict.organization(f"Bearer {made_here}") == "acme"
    with pytest.raises(TokenError, match=r"Invalid token: in strict mode .* auth_tokens"):
        strict.organization("Bearer any-value")
    elsewhere = mint_org_token("https://sentry.io", "acme")
    with pytest.raises(TokenError, match=r"made for 'https://sentry\.io', not for this server"):
        strict.organization(f"Bearer {elsewhere}")


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("sntrys_abc", "exactly two segments"),
        ("sntrys_!!!!_" + "A" * 43, "not base64-encoded JSON"),
        ("sntrys_" + base64.b64encode(b"[1]").decode() + "_" + "A" * 43, "not a JSON object"),
        ("sntrys_" + base64.b64encode(b'{"region_url":"x"}').decode() + "_" + "A" * 43, "'org'"),
        (
            "sntrys_" + base64.b64encode(b'{"org":"a","region_url":"x"}').decode() + "_QUJD",
            "32 base64-encoded bytes",
        ),
    ],
)
def test_parse_org_token_names_what_is_wrong(token: str, problem: str) -> None:
    with pytest.raises(TokenError, match=problem):
        parse_org_token(token)


def test_bearer_token() -> None:
    assert bearer_token("Bearer abc ") == "abc"
    with pytest.raises(TokenError, match="not provided"):
        bearer_token(None)
    with pytest.raises(TokenError, match="'Basic'"):
        bearer_token("Basic dXNlcjpwYXNz")


# --- artifact bundles --------------------------------------------------------------------------


def bundle_bytes(
    manifest: dict | None = None,
    members: dict[str, bytes] | None = None,
    *,
    header: bytes = b"SYSB" + struct.pack("<I", 2),
) -> bytes:
    """A bundle laid out as sentry-cli writes it: SYSB header, then a zip with a manifest."""
    if manifest is None:
        manifest = {
            "files": {
                "files/_/_/static/js/app.min.js": {
                    "type": "minified_source",
                    "url": "~/static/js/app.min.js",
                    "headers": {"Debug-Id": DEBUG_ID.upper(), "Sourcemap": "app.min.js.map"},
                },
                "files/_/_/static/js/app.min.js.map": {
                    "type": "source_map",
                    "url": "~/static/js/app.min.js.map",
                },
            },
            "debug_id": "37b93ee4-63b6-54e9-a618-b4d0f24a572d",
            "org": ORG,
            "project": "webapp",
            "release": "1.0.0",
        }
    if members is None:
        map_with_id = json.dumps({**json.loads(SOURCE_MAP), "debugId": DEBUG_ID}).encode()
        members = {
            "files/_/_/static/js/app.min.js": MINIFIED,
            "files/_/_/static/js/app.min.js.map": map_with_id,
        }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, content in members.items():
            archive.writestr(name, content)
    return header + buffer.getvalue()


def test_parse_artifact_bundle() -> None:
    bundle = parse_artifact_bundle(bundle_bytes(), max_size=1 << 20)
    assert bundle.version == 2
    assert bundle.debug_id == "37b93ee4-63b6-54e9-a618-b4d0f24a572d"
    assert bundle.attributes["release"] == "1.0.0"
    minified, source_map = bundle.files
    assert (minified.url, minified.type, minified.content) == (
        "~/static/js/app.min.js",
        "minified_source",
        MINIFIED,
    )
    # Header names are case-insensitive; debug ids are compared lower-cased.
    assert minified.headers == {"debug-id": DEBUG_ID.upper(), "sourcemap": "app.min.js.map"}
    assert minified.debug_id == DEBUG_ID
    assert minified.sourcemap == "app.min.js.map"
    # A source map without a debug-id header carries it in its JSON (3.x `debugId`).
    assert source_map.debug_id == DEBUG_ID
    assert source_map.sourcemap is None


def test_parse_artifact_bundle_reads_2x_debug_id_and_bare_zip() -> None:
    manifest = {"files": {"files/m.map": {"type": "source_map", "url": "~/m.map"}}}
    members = {"files/m.map": b'{"version":3,"debug_id":"ABC-1"}'}
    bundle = parse_artifact_bundle(bundle_bytes(manifest, members, header=b""), max_size=1 << 20)
    assert bundle.version is None
    assert bundle.files[0].debug_id == "abc-1"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"SYSB\x02\x00", "inside its 8-byte SYSB header"),
        (b"SYSB" + struct.pack("<I", 9) + b"PK", "unsupported source bundle version 9"),
        (b"SYSB" + struct.pack("<I", 2) + b"not a zip", "not a zip archive"),
        (bundle_bytes({"files": []}), "'files' must be an object"),
        (bundle_bytes({"files": {"files/a.js": {"type": "exe"}}}, {}), "'type' must be one of"),
        (
            bundle_bytes({"files": {"files/a.js": {"type": "source"}}}, {}),
            "the zip has no member 'files/a.js'",
        ),
        (
            bundle_bytes({"files": {"files/a.js": {"type": "source", "headers": {"x": 1}}}}, {}),
            "'headers' must be an object of strings",
        ),
    ],
)
def test_parse_artifact_bundle_names_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(ArtifactBundleError, match=problem):
        parse_artifact_bundle(data, max_size=1 << 20)


def test_parse_artifact_bundle_without_manifest() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("files/a.js", b"x")
    with pytest.raises(ArtifactBundleError, match="no manifest"):
        parse_artifact_bundle(buffer.getvalue(), max_size=100)


def test_parse_artifact_bundle_caps_the_uncompressed_size() -> None:
    manifest = {"files": {"files/big.js": {"type": "source"}}}
    data = bundle_bytes(manifest, {"files/big.js": b"a" * 10_000})
    assert len(data) < 2_000  # compresses well: the cap must apply to what is unpacked
    with pytest.raises(ArtifactBundleError, match="takes the bundle over 5000 bytes"):
        parse_artifact_bundle(data, max_size=5_000)


# --- chunks ------------------------------------------------------------------------------------


def chunk_part(data: bytes, *, gzipped: bool = True, name: str | None = None) -> Part:
    return Part(
        name="file_gzip" if gzipped else "file",
        filename=name or hashlib.sha1(data).hexdigest(),
        content_type="application/octet-stream",
        data=gzip.compress(data) if gzipped else data,
    )


def test_chunks_are_checked_against_their_names() -> None:
    [plain, packed] = chunks_from_parts([chunk_part(b"one", gzipped=False), chunk_part(b"two")])
    assert (plain.data, packed.data) == (b"one", b"two")
    assert packed.checksum == hashlib.sha1(b"two").hexdigest()
    with pytest.raises(BodyError, match="does not match its filename"):
        chunks_from_parts([chunk_part(b"one", name=hashlib.sha1(b"other").hexdigest())])
    with pytest.raises(BodyError, match="must be its SHA-1"):
        chunks_from_parts([chunk_part(b"one", name="chunk.bin")])
    with pytest.raises(BodyError, match="not valid gzip"):
        chunks_from_parts([Part("file_gzip", "a" * 40, None, b"plain")])
    with pytest.raises(BodyError, match="no 'file' or 'file_gzip' parts"):
        chunks_from_parts([Part("other", None, None, b"")])


def test_gzip_chunks_cannot_expand_past_the_chunk_size() -> None:
    big = b"\0" * (CHUNK_SIZE + 1)
    part = Part("file_gzip", hashlib.sha1(big).hexdigest(), None, gzip.compress(big))
    assert len(part.data) < 20_000
    with pytest.raises(BodyError, match="larger than the chunk size"):
        chunks_from_parts([part])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"chunks": []}, "'checksum'"),
        ({"checksum": "a" * 40, "chunks": ["xyz"]}, "'chunks' must be a list"),
        ({"checksum": "a" * 40, "chunks": []}, "'chunks' is empty"),
        ({"checksum": "a" * 40, "chunks": ["b" * 40] * 10_000}, "larger than"),
        ({"checksum": "a" * 40, "chunks": ["b" * 40], "dist": 3}, "'dist' must be a string"),
    ],
)
def test_parse_assemble_names_what_is_wrong(body: dict, problem: str) -> None:
    with pytest.raises(BodyError, match=problem):
        parse_assemble(body)


# --- the routes over HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(server: StubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        yield client


def api(org: str = ORG) -> str:
    return f"/api/0/organizations/{org}"


def test_answers_are_json_errors_included(http: httpx.Client) -> None:
    response = http.get(f"{api()}/releases/nope/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "Release not found" in response.json()["detail"]


def test_auth(http: httpx.Client) -> None:
    anonymous = httpx.get(f"{http.base_url}{api()}/releases/")
    assert anonymous.status_code == 401
    assert "Authentication credentials were not provided" in anonymous.json()["detail"]
    other_org = {"Authorization": f"Bearer {mint_org_token(str(http.base_url), 'other')}"}
    refused = http.get(f"{api()}/releases/", headers=other_org)
    assert refused.status_code == 403
    assert "for organization 'other', not 'acme'" in refused.json()["detail"]
    own_org = {"Authorization": f"Bearer {mint_org_token(str(http.base_url), ORG)}"}
    assert http.get(f"{api()}/releases/", headers=own_org).status_code == 200
    broken = http.get(f"{api()}/releases/", headers={"Authorization": "Bearer sntrys_x_y"})
    assert broken.status_code == 401
    assert http.get("/api/0/").json()["user"]["email"] == "sentry-stub@localhost"
    assert httpx.get(f"{http.base_url}/api/0/").json()["user"] is None


def test_release_create_is_an_upsert(http: httpx.Client) -> None:
    org = api("upsert")
    body = {
        "version": "my-app@1.0.0+42",
        "projects": ["webapp"],
        "dateStarted": "2026-11-29T08:35:33.871374610Z",
    }
    created = http.post(f"{org}/releases/", json=body)
    assert created.status_code == 201
    assert created.json()["version"] == "my-app@1.0.0+42"
    assert created.json()["projects"] == [{"slug": "webapp", "name": "webapp"}]
    assert http.post(f"{org}/releases/", json=body).status_code == 208
    more = http.post(f"{org}/releases/", json={**body, "projects": ["api"]})
    assert more.status_code == 201
    assert [p["slug"] for p in more.json()["projects"]] == ["webapp", "api"]
    # sentry-cli percent-encodes '+' in the path; the server decodes it.
    fetched = http.get(f"{org}/releases/my-app@1.0.0%2B42/")
    assert fetched.json()["dateStarted"] == "2026-11-29T08:35:33.871374610Z"
    archived = http.post(
        f"{org}/releases/",
        json={"version": "my-app@1.0.0+42", "projects": [], "status": "archived"},
    )
    assert archived.json()["status"] == "archived"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"projects": ["webapp"]}, "'version' must be a non-empty string"),
        ({"version": "a/b", "projects": ["webapp"]}, "not a valid release"),
        ({"version": "latest", "projects": ["webapp"]}, "not a valid release"),
        ({"version": "1.0"}, "'projects' must name at least one project"),
        ({"version": "1.0", "projects": "webapp"}, "'projects' must be a list"),
        ({"version": "1.0", "projects": ["w"], "dateReleased": "yesterday"}, "RFC 3339"),
        ({"version": "1.0", "projects": ["w"], "status": "gone"}, "'status' must be one of"),
        ({"version": "1.0", "projects": ["w"], "commits": [{"message": "x"}]}, "commits[0]"),
        ({"version": "1.0", "projects": [999]}, "no project with id 999"),
    ],
)
def test_release_create_refuses_bad_bodies(http: httpx.Client, body: dict, problem: str) -> None:
    response = http.post(f"{api('bad')}/releases/", json=body)
    assert response.status_code == 400
    assert problem in response.json()["detail"]


def test_finalize_commits_and_previous_release(http: httpx.Client) -> None:
    org = api("commits")
    commit = {"id": "a" * 40, "message": "first\n", "author_name": "Dev", "author_email": "d@e.x"}
    assert http.post(f"{org}/releases/", json={"version": "1", "projects": ["web"]}).is_success
    assert http.get(f"{org}/releases/1/previous-with-commits/").json() == {}
    http.put(f"{org}/releases/1/", json={"commits": [commit]}).raise_for_status()
    finalized = http.put(f"{org}/releases/1/", json={"dateReleased": "2026-11-29T08:00:00Z"})
    assert finalized.json()["dateReleased"] == "2026-11-29T08:00:00Z"
    assert finalized.json()["lastCommit"]["id"] == "a" * 40
    assert http.get(f"{org}/releases/1/commits/").json()[0]["author"]["email"] == "d@e.x"
    assert http.post(f"{org}/releases/", json={"version": "2", "projects": ["web"]}).is_success
    previous = http.get(f"{org}/releases/2/previous-with-commits/").json()
    assert (previous["version"], previous["lastCommit"]["id"]) == ("1", "a" * 40)
    # A release of another project is not "previous".
    assert http.post(f"{org}/releases/", json={"version": "3", "projects": ["other"]}).is_success
    assert http.get(f"{org}/releases/3/previous-with-commits/").json() == {}
    assert http.get(f"{org}/repos/?cursor=").json() == []


def test_project_scoped_routes_as_2x_uses_them(http: httpx.Client) -> None:
    project = "/api/0/projects/scoped/webapp/releases"
    assert http.post(f"{project}/", json={"version": "2.0.0"}).status_code == 201
    assert http.put(f"{project}/2.0.0/", json={"dateReleased": "2026-11-29T08:00:00Z"}).is_success
    assert [r["version"] for r in http.get(f"{project}/").json()] == ["2.0.0"]
    assert http.get("/api/0/projects/scoped/other/releases/2.0.0/").status_code == 404
    assert http.delete(f"{project}/2.0.0/").status_code == 204
    assert http.get(f"{project}/2.0.0/").status_code == 404


def test_deploys(http: httpx.Client) -> None:
    org = api("deploys")
    assert http.post(f"{org}/releases/9.9/deploys/", json={"environment": "x"}).status_code == 404
    http.post(f"{org}/releases/", json={"version": "9.9", "projects": ["web"]}).raise_for_status()
    created = http.post(
        f"{org}/releases/9.9/deploys/", json={"environment": "production", "name": "blue"}
    )
    assert created.status_code == 201
    assert created.json()["environment"] == "production"
    assert created.json()["dateFinished"]  # now, when the request gives no time
    assert created.json()["projects"] == ["web"]
    bad = http.post(f"{org}/releases/9.9/deploys/", json={"environment": "a/b"})
    assert bad.status_code == 400
    assert "not a valid environment name" in bad.json()["detail"]
    assert [d["name"] for d in http.get(f"{org}/releases/9.9/deploys/").json()] == ["blue"]


def upload(
    http: httpx.Client, org: str, data: bytes, *, field: str = "file_gzip"
) -> httpx.Response:
    content = gzip.compress(data) if field == "file_gzip" else data
    files = [(field, (hashlib.sha1(data).hexdigest(), content, "application/octet-stream"))]
    return http.post(f"{org}/chunk-upload/", files=files)


def test_chunk_upload_and_assemble(http: httpx.Client) -> None:
    org = api("bundles")
    options = http.get(f"{org}/chunk-upload/").json()
    assert options["url"] == f"{http.base_url}{org}/chunk-upload/"
    assert {"release_files", "artifact_bundles", "artifact_bundles_v2"} <= set(options["accept"])
    assert (options["hashAlgorithm"], options["compression"]) == ("sha1", ["gzip"])

    data = bundle_bytes()
    half = len(data) // 2
    pieces = [data[:half], data[half:]]
    digests = [hashlib.sha1(p).hexdigest() for p in pieces]
    request = {
        "checksum": hashlib.sha1(data).hexdigest(),
        "chunks": digests,
        "projects": ["webapp"],
        "version": "1.0.0",
        "dist": "web",
    }
    probe = http.post(f"{org}/artifactbundle/assemble/", json=request).json()
    assert probe == {"state": "not_found", "missingChunks": digests, "detail": None}
    assert upload(http, org, pieces[0]).status_code == 200
    assert upload(http, org, pieces[1], field="file").status_code == 200
    done = http.post(f"{org}/artifactbundle/assemble/", json=request).json()
    assert done == {"state": "ok", "missingChunks": [], "detail": None}
    assert http.post(f"{org}/artifactbundle/assemble/", json=request).json()["state"] == "ok"

    # A bundle needs no release object: its files are indexed by release name and debug id.
    assert http.get("/stub/api/releases", params={"org": "bundles"}).json()["data"] == []
    wrong = {**request, "checksum": "0" * 40}
    error = http.post(f"{org}/artifactbundle/assemble/", json=wrong).json()
    assert error["state"] == "error"
    assert "do not have the checksum" in error["detail"]


def test_assemble_reports_a_broken_bundle(http: httpx.Client) -> None:
    org = api("broken")
    data = b"SYSB" + struct.pack("<I", 2) + b"not a zip at all"
    upload(http, org, data).raise_for_status()
    body = {
        "checksum": hashlib.sha1(data).hexdigest(),
        "chunks": [hashlib.sha1(data).hexdigest()],
        "projects": ["w"],
    }
    answer = http.post(f"{org}/artifactbundle/assemble/", json=body).json()
    assert answer["state"] == "error"
    assert "invalid artifact bundle: the bundle is not a zip archive" in answer["detail"]


def test_chunk_upload_refusals(http: httpx.Client) -> None:
    org = api("refusals")
    files = [("file", ("a" * 40, b"data", "application/octet-stream"))]
    mismatch = http.post(f"{org}/chunk-upload/", files=files)
    assert mismatch.status_code == 400
    assert "does not match its filename" in mismatch.json()["detail"]
    not_multipart = http.post(f"{org}/chunk-upload/", content=b"x")
    assert not_multipart.status_code == 400
    assert "expected multipart/form-data" in not_multipart.json()["detail"]
    no_projects = {"checksum": "a" * 40, "chunks": ["a" * 40]}
    assert http.post(f"{org}/artifactbundle/assemble/", json=no_projects).status_code == 400


def test_bundle_files_are_listed_with_their_release(http: httpx.Client) -> None:
    org = api("listing")
    http.post(
        f"{org}/releases/", json={"version": "1.0.0", "projects": ["webapp"]}
    ).raise_for_status()
    data = bundle_bytes()
    upload(http, org, data).raise_for_status()
    digest = hashlib.sha1(data).hexdigest()
    body = {"checksum": digest, "chunks": [digest], "projects": ["webapp"], "version": "1.0.0"}
    assert http.post(f"{org}/artifactbundle/assemble/", json=body).json()["state"] == "ok"
    [release] = http.get("/stub/api/releases", params={"org": "listing"}).json()["data"]
    files = {f["name"]: f for f in release["files"]}
    minified = files["~/static/js/app.min.js"]
    assert (minified["type"], minified["debug_id"], minified["sourcemap"]) == (
        "minified_source",
        DEBUG_ID,
        "app.min.js.map",
    )
    assert minified["sha1"] == hashlib.sha1(MINIFIED).hexdigest()
    assert release["artifact_bundles"][0]["debug_id"] == "37b93ee4-63b6-54e9-a618-b4d0f24a572d"
    legacy = http.get(f"{org}/releases/1.0.0/files/").json()
    assert sorted(f["name"] for f in legacy) == sorted(files)


def test_release_bound_assemble_of_2x(http: httpx.Client) -> None:
    org = api("release-bound")
    http.post(
        f"{org}/releases/", json={"version": "2.0", "projects": ["webapp"]}
    ).raise_for_status()
    data = bundle_bytes(
        members={
            "files/_/_/static/js/app.min.js": MINIFIED,
            "files/_/_/static/js/app.min.js.map": b"{}",
        }
    )
    digest = hashlib.sha1(data).hexdigest()
    body = {"checksum": digest, "chunks": [digest]}
    assert http.post(f"{org}/releases/2.0/assemble/", json=body).json()["state"] == "not_found"
    upload(http, org, data).raise_for_status()
    assert http.post(f"{org}/releases/2.0/assemble/", json=body).json()["state"] == "ok"
    [release] = http.get("/stub/api/releases", params={"org": "release-bound"}).json()["data"]
    assert release["artifact_bundles"][0]["release"] == "2.0"
    assert release["artifact_bundles"][0]["projects"] == ["webapp"]


def test_files_uploaded_one_by_one(http: httpx.Client) -> None:
    files_url = "/api/0/projects/legacy/webapp/releases/3.0/files/"
    http.post("/api/0/projects/legacy/webapp/releases/", json={"version": "3.0"}).raise_for_status()
    form = {"name": "~/app.min.js", "header": "Sourcemap:app.min.js.map"}
    sent = {"file": ("app.min.js", MINIFIED, "application/octet-stream")}
    created = http.post(files_url, data=form, files=sent)
    assert created.status_code == 201
    artifact = created.json()
    assert artifact["headers"] == {"Sourcemap": "app.min.js.map"}
    assert artifact["sha1"] == hashlib.sha1(MINIFIED).hexdigest()
    assert http.post(files_url, data=form, files=sent).status_code == 409
    assert [f["name"] for f in http.get(files_url).json()] == ["~/app.min.js"]
    bad_header = http.post(files_url, data={"header": "nocolon"}, files=sent)
    assert "'header' must look like 'Key:Value'" in bad_header.json()["detail"]
    assert http.delete(f"{files_url}{artifact['id']}/").status_code == 204
    assert http.delete(f"{files_url}{artifact['id']}/").status_code == 404
    assert http.get(files_url).json() == []


def test_stub_releases_query(http: httpx.Client) -> None:
    org = api("query")
    http.post(f"{org}/releases/", json={"version": "q1", "projects": ["a"]}).raise_for_status()
    http.post(f"{org}/releases/", json={"version": "q2", "projects": ["b"]}).raise_for_status()
    http.put(
        f"{org}/releases/q2/", json={"dateReleased": "2026-11-29T08:00:00Z"}
    ).raise_for_status()
    data = http.get("/stub/api/releases", params={"org": "query"}).json()["data"]
    assert [(r["version"], r["finalized"]) for r in data] == [("q2", True), ("q1", False)]
    only_a = http.get("/stub/api/releases", params={"org": "query", "project": "a"}).json()
    assert [r["version"] for r in only_a["data"]] == ["q1"]
    by_version = http.get("/stub/api/releases", params={"version": "q2"}).json()["data"]
    assert [r["org"] for r in by_version] == ["query"]


def test_strict_mode_knows_only_configured_projects(tmp_path) -> None:
    config = tmp_path / "sentry-stub.toml"
    config.write_text(STRICT_CONFIG)
    with (
        StubServer(config=config) as server,
        httpx.Client(base_url=server.url, headers=HEADERS) as http,
    ):
        unknown = http.post(f"{api()}/releases/", json={"version": "1", "projects": ["nope"]})
        assert unknown.status_code == 400
        assert "no project 'nope' in the config" in unknown.json()["detail"]
        by_id = http.post(f"{api()}/releases/", json={"version": "1", "projects": [12]})
        assert by_id.json()["projects"] == [
            {"slug": "agentsflowai-frontend", "name": "agentsflowai-frontend"}
        ]
        assert http.get("/api/0/projects/acme/nope/releases/").status_code == 404


def test_strict_mode_refuses_tokens_it_does_not_know_with_401(tmp_path) -> None:
    config = tmp_path / "sentry-stub.toml"
    config.write_text(STRICT_CONFIG)
    release = {"version": "1", "projects": ["agentsflowai-frontend"]}
    with StubServer(config=config) as server, httpx.Client(base_url=server.url) as http:
        for token in ("any-value", mint_org_token("https://sentry.io", ORG)):
            headers = {"Authorization": f"Bearer {token}"}
            refused = http.post(f"{api()}/releases/", json=release, headers=headers)
            assert refused.status_code == 401
            assert refused.json()["detail"].startswith("Invalid token")
            assert http.get("/api/0/", headers=headers).status_code == 401
        assert http.get("/stub/api/releases").json()["data"] == []
        minted = {"Authorization": f"Bearer {mint_org_token(server.url, ORG)}"}
        assert http.post(f"{api()}/releases/", json=release, headers=minted).status_code == 201
        assert http.get("/api/0/", headers=minted).json()["user"] is not None


def test_every_web_api_write_needs_a_token(server: StubServer) -> None:
    """What keeps web pages from writing here: no page can send Authorization cross-origin
    without a preflight, and multipart uploads cannot be asked to be JSON. The guard lets a
    write that is not JSON through where the route table says a token is asked for
    (``Endpoint.bearer_token``): every such route must really ask, and every web API write
    must be one of them."""
    table = server.app.endpoints
    writes = {
        (e.path, m) for e in table if e.path.startswith("/api/0/") for m in e.methods if m != "GET"
    }
    assert {m for _, m in writes} == {"POST", "PUT", "DELETE"}
    behind_token = {(e.path, m) for e in table if e.bearer_token for m in e.methods}
    assert writes <= behind_token
    with httpx.Client(base_url=server.url) as http:
        params = {"org": ORG, "project": "p", "version": "1", "file_id": "1"}
        for template, method in sorted(behind_token):
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: params[m[1]], template)
            answer = http.request(method, path, content=b"{}")
            assert answer.status_code == 401, (method, path, answer.text)
