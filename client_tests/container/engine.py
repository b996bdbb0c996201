"""The container engine that ``scripts/image-test`` chose (docker or podman), driven by its CLI.

Both engines take the same commands for what the tests do (run, stop, start, exec, diff,
inspect); where they differ (the health check, compose) the difference is handled here.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field

from client_tests.support import READY, wait_until_answering

# The image's port and data directory (the Dockerfile's SENTRY_STUB_PORT and VOLUME).
CONTAINER_PORT = 8990
DATA = "/data"


@dataclass(frozen=True)
class Engine:
    """``docker`` or ``podman``; ``build_options`` are what the podman builds here need."""

    name: str
    build_options: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls) -> Engine:
        """The engine and build options ``scripts/image-test`` exported."""
        return cls(
            os.environ["SENTRY_STUB_CONTAINER_ENGINE"],
            tuple(shlex.split(os.environ.get("SENTRY_STUB_BUILD_OPTIONS", ""))),
        )

    def run(self, *arguments: str, check: bool = True, timeout: float = 120) -> str:
        """The engine's command; its standard output. A failure shows what the engine said."""
        result = subprocess.run(
            [self.name, *arguments], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{self.name} {shlex.join(arguments)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def inspect(self, target: str, template: str) -> str:
        return self.run("inspect", "--format", template, target).strip()

    def health(self, container: str) -> str:
        """The container's health status after the image's HEALTHCHECK command ran once more.

        Podman runs health checks from systemd timers, and a machine without systemd has none:
        there ``podman healthcheck run`` runs the image's HEALTHCHECK command, as the timer would.
        Docker runs it on the HEALTHCHECK's own interval.
        """
        if self.name == "podman":
            self.run("healthcheck", "run", container, check=False)
        return self.inspect(container, "{{.State.Health.Status}}")

    def wait_healthy(self, container: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = self.health(container)
            if status == "healthy":
                return
            time.sleep(0.5)
        log = self.inspect(container, "{{json .State.Health}}")
        raise AssertionError(f"{container} is {status!r} after {timeout}s: {log}")

    def compose(self) -> list[str]:
        """The compose command: Docker's plugin, or podman-compose (PyPI) beside this Python."""
        if self.name == "docker":
            return ["docker", "compose"]
        command = [os.path.join(os.path.dirname(sys.executable), "podman-compose")]
        if self.build_options:
            command.append(f"--podman-build-args={shlex.join(self.build_options)}")
        return command


@dataclass
class Container:
    """One ``sentry-stub`` container with its data volume, published on 127.0.0.1:``port``."""

    engine: Engine
    image: str
    name: str
    port: int
    environment: dict[str, str] = field(default_factory=dict)
    mounts: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def volume(self) -> str:
        return f"{self.name}-data"

    def create(self) -> Container:
        options = [f"--publish=127.0.0.1:{self.port}:{CONTAINER_PORT}"]
        options += [f"--volume={self.volume}:{DATA}"]
        options += [f"--volume={mount}" for mount in self.mounts]
        options += [f"--env={name}={value}" for name, value in self.environment.items()]
        self.engine.run("run", "--detach", f"--name={self.name}", *options, self.image)
        self.wait_ready()
        return self

    def start(self) -> None:
        self.engine.run("start", self.name)
        self.wait_ready()

    def stop(self, grace: int = 10) -> float:
        """``stop`` (SIGTERM, then SIGKILL after ``grace`` s); the seconds until it exited."""
        started = time.monotonic()
        self.engine.run("stop", f"--time={grace}", self.name, timeout=grace + 60)
        return time.monotonic() - started

    def replace(self) -> None:
        """A new container of the image in place of this one, on the same volume."""
        self.engine.run("rm", "--force", self.name)
        self.create()

    def remove(self) -> None:
        self.engine.run("rm", "--force", self.name, check=False)
        self.engine.run("volume", "rm", "--force", self.volume, check=False)

    def logs(self) -> str:
        return self.engine.run("logs", self.name, check=False)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until Relay's readiness route answers through the published port."""
        wait_until_answering(f"{self.url}{READY}", self.logs, timeout=timeout)
