"""Shared test fixtures: the workshop app served by Voilà, and headless Chromium that may only talk to localhost.

The server starts through ``workbench.cli.app.start_voila`` — the code path of ``workbench app`` — so a
browser test checks what ``make demo`` serves. Nothing here is autouse: tests that do not ask for these
fixtures pay nothing for them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SAMPLE_BOOK = REPO / "sample_data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``test-artifacts/`` at the repo root (screenshots, server logs); git ignores it."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def served(notebook: Path | None, log_path: Path, book: Path | None = SAMPLE_BOOK,
           refill_delay: float | None = None) -> Iterator:
    """Voilà serving ``notebook`` (default: the workshop app) on a free port, stopped on exit; log to a file."""
    from workbench.cli.app import free_port, start_voila

    with open(log_path, "w", encoding="utf-8") as log:
        server = start_voila(notebook, host="127.0.0.1", port=free_port(), book=book, refill_delay=refill_delay,
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            server.wait_until_listening(timeout=60)
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def workshop_server(artifacts_dir: Path) -> Iterator:
    """The workshop app on the committed sample book, served like ``workbench app`` on a free port.

    Tests visit it once, so the preheated kernel is not replaced during the session (the replacement would
    run the whole chain again and slow the visit under test down on a 2-core machine)."""
    with served(None, artifacts_dir / "voila-workshop.log", refill_delay=3600) as server:
        yield server


@pytest.fixture(scope="session")
def serve_notebook(artifacts_dir: Path) -> Iterator:
    """Factory: ``serve_notebook(path, book=None)`` serves another notebook with Voilà (once per path; all
    are stopped at the end of the session). Each page visit gets its own kernel, preheated like the app's."""
    running: dict[Path, object] = {}
    with ExitStack() as stack:
        def start(notebook: Path, book: Path | None = None):
            notebook = Path(notebook).resolve()
            if notebook not in running:
                log = artifacts_dir / f"voila-{notebook.stem}.log"
                running[notebook] = stack.enter_context(served(notebook, log, book))
            return running[notebook]

        yield start


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflinePage:
    """A browser page whose every request is recorded; requests that would leave localhost are aborted."""

    page: object
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        """Requested URLs whose host is not 127.0.0.1/localhost (data:/blob: URLs have no host and are local)."""
        return [u for u in self.requests if urlsplit(u).hostname not in LOCAL_HOSTS | {None}]


@pytest.fixture
def offline_page(chromium) -> Iterator[OfflinePage]:
    """A fresh page (1440×1000) with the network cut to localhost; HTTP and websocket URLs are recorded."""
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    rec = OfflinePage(page=None)

    def route(r) -> None:
        url = r.request.url
        rec.requests.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS | {None}:
            r.continue_()
        else:
            r.abort()  # fail fast like a machine without internet instead of waiting on a CDN

    context.route("**/*", route)
    page = context.new_page()
    page.on("websocket", lambda ws: rec.requests.append(ws.url))
    page.on("console", lambda m: rec.console_errors.append(m.text) if m.type == "error" else None)
    rec.page = page
    try:
        yield rec
    finally:
        context.close()
