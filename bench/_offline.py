"""Headless Chromium for the browser benchmarks: Debian's binary, the project's flags, the network cut to localhost."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def offline_context(browser):
    """A new browser context whose requests off localhost are aborted and recorded.

    Returns ``(context, foreign)``: ``foreign`` fills with the URLs that tried to leave the machine.
    """
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    foreign: list[str] = []

    def route(r) -> None:
        host = r.request.url.split("/")[2].split(":")[0] if "//" in r.request.url else ""
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, foreign
