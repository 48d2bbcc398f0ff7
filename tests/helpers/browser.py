"""Headless Chromium and a local HTTP server, for tests and scripts that read pages as a reader."""

from __future__ import annotations

import contextlib
import functools
import http.server
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Every host but this machine fails to resolve, so a page that needs anything from
    # outside shows it as a failed request, as it would for a reader without internet.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
DESKTOP = (1400, 1000)
PHONE = (390, 844)


def marks() -> list:
    """The marks of a module of browser tests: slow, on the built book, skipped without Chromium."""
    import pytest

    return [
        pytest.mark.slow,
        pytest.mark.book,
        pytest.mark.browser,
        pytest.mark.skipif(
            not available(),
            reason="Chromium is not installed: as root, `make system-deps` "
            "(apt-get install chromium chromium-driver) provides it",
        ),
    ]


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@contextlib.contextmanager
def chromium(size: tuple[int, int] = DESKTOP, profile: Path | None = None) -> Iterator:
    """A fresh headless Chromium session that records every console message.

    At a phone's width, it also reports a phone's device pixel ratio and touch, so that the
    page lays itself out as on a phone.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with contextlib.ExitStack() as stack:
        if profile is None:
            profile = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chromium-")))
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={size[0]},{size[1]}")
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # A driver path of our own: Selenium Manager, which would download one, is skipped.
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            resize(driver, size)
            yield driver
        finally:
            driver.quit()


def resize(driver, size: tuple[int, int]) -> None:
    """Make the viewport exactly `size` CSS pixels, a phone's when it is narrow."""
    width, height = size
    phone = width < 600
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": height,
            "deviceScaleFactor": 2 if phone else 1,
            "mobile": phone,
        },
    )


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve a folder over HTTP on a free port of this machine; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # the callers report what matters
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def settle(driver, timeout: float = 20) -> None:
    """Wait until the page has loaded, MathJax (if it came) has typeset, and fonts arrived."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    driver.set_script_timeout(timeout)
    driver.execute_async_script("""
        const done = arguments[0];
        const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
        Promise.resolve(typeset).then(() => document.fonts.ready).then(() => done());
    """)


def page_bytes(driver) -> dict[str, int]:
    """The bytes of every resource the page loaded, the page itself included, by URL."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation')"
        ".concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.decodedBodySize || 0]);"
    )
    sizes: dict[str, int] = {}
    for name, size in entries:
        sizes[name.split("?")[0].split("#")[0]] = max(size, sizes.get(name, 0))
    return sizes
