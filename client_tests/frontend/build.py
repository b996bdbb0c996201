"""Build the frontend once per configuration.

Vite bakes ``VITE_*`` variables into the bundle at build time, so every distinct Sentry
configuration (DSN, release, sample rate, tunnel, ...) is its own build. Builds are cached in a
directory, keyed by the variables and the app's sources, so each configuration is built once.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "sentry-stub-frontend-builds"

# Every variable the app reads. Unset ones are passed as "" so that a developer's own
# client_tests/frontend/.env cannot leak into a test build (process variables win over .env).
VITE_VARIABLES = (
    "VITE_SENTRY_DSN",
    "VITE_SENTRY_ENVIRONMENT",
    "VITE_SENTRY_RELEASE",
    "VITE_SENTRY_TRACES_SAMPLE_RATE",
    "VITE_SENTRY_TUNNEL",
    "VITE_API_URL",
)
SOURCES = ("package-lock.json", "index.html", "vite.config.js", "src")


class FrontendBuildError(RuntimeError):
    """The app could not be built; the message says why and what to run."""


def build_frontend(env: dict[str, str], cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Return the ``dist`` directory of the app built with these ``VITE_*`` variables."""
    unknown = sorted(set(env) - set(VITE_VARIABLES))
    if unknown:
        raise ValueError(
            f"unknown frontend build variable(s) {', '.join(unknown)}; "
            f"the app reads only {', '.join(VITE_VARIABLES)}"
        )
    variables = {name: env.get(name, "") for name in VITE_VARIABLES}
    dist = cache_dir / _cache_key(variables)
    if not dist.is_dir():
        _build_into(dist, variables)
    return dist


def _cache_key(variables: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(variables, sort_keys=True).encode())
    for path in _source_files():
        digest.update(path.relative_to(APP_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = APP_DIR / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def _build_into(dist: Path, variables: dict[str, str]) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise FrontendBuildError("npm is not on PATH; install Node.js 20+ and npm")
    if not (APP_DIR / "node_modules" / ".bin" / "vite").exists():
        raise FrontendBuildError(
            f"{APP_DIR / 'node_modules'} is missing; run scripts/setup-frontend.sh first"
        )
    dist.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the final place and rename, so parallel builds never see half a build.
    staging = Path(tempfile.mkdtemp(prefix=f"{dist.name}-", dir=dist.parent))
    result = subprocess.run(
        [npm, "run", "build", "--", "--outDir", str(staging), "--emptyOutDir"],
        cwd=APP_DIR,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise FrontendBuildError(
            f"npm run build failed with exit code {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    try:
        staging.rename(dist)
    except OSError:  # another process finished the same build first
        shutil.rmtree(staging, ignore_errors=True)
