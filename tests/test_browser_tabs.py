"""In a real browser, does one framework choice drive every tab set, on every page?"""

from __future__ import annotations

import functools
import http.server
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sphinx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from fixture_book import ALLOW_MISSING_TABS, build, cell

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
]
FRAMEWORKS = ["pytorch", "mxnet", "mindspore"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Chromium is not installed: as root, `make system-deps` "
        "(apt-get install chromium chromium-driver) provides it",
    ),
]

# Console errors that come from the tool chain, not from the book, each with the condition
# under which it is tolerated; any other error fails the test.
KNOWN_ERRORS = {
    # Sphinx 7.x writes body-only scripts added after the builder starts twice
    # (sphinx-doc/sphinx#13402, fixed in 8.x; jupyter-book 1.x needs Sphinx 7), so
    # sphinx-thebe's `const THEBE_JS_URL` is declared twice. The first copy runs.
    "Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared":
        sphinx.version_info[0] < 8,
}


def tab_set(n: int, *frameworks: str) -> str:
    """Cells for one tab set: each framework prints its name and the set's number."""
    return "".join(cell(f'print("{fw} {n}")', fw) for fw in frameworks or FRAMEWORKS)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    """A two-page book with the real book's settings, served over HTTP on a free port."""
    tmp = tmp_path_factory.mktemp("browser")
    first = "# First\n\n" + "Text between.\n\n".join(tab_set(n) for n in (1, 2, 3))
    # The third set has no MXNet cell: its MXNet tab says so.
    second = (
        "# Second\n\n" + tab_set(1) + "Text.\n\n" + tab_set(2) + "Text.\n\n"
        + tab_set(3, "pytorch", "mindspore")
    )
    result = build(tmp, {"index": first, "second": second}, like_book=True,
                   sphinx_config=ALLOW_MISSING_TABS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp / "out" / "_build" / "html"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # the test reports what matters
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A driver path of our own: Selenium Manager, which would download one, is skipped.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@dataclass(frozen=True)
class Visible:
    framework: str  # the sync id of the tab whose content shows
    output: str  # what that content's executed cells printed, or the note that it has none


def printed(content: WebElement) -> str:
    """What the cells of one tab content printed, as the browser renders it."""
    outputs = content.find_elements(By.CSS_SELECTOR, ".cell_output")
    if not outputs:
        return " ".join(note.text for note in content.find_elements(
            By.CSS_SELECTOR, ".framework-missing"))
    return " ".join(out.text for out in outputs)


class Reader:
    """A reader in one browser session: opens pages, picks tabs, sees what shows."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver, self.base = driver, base

    def open(self, page: str) -> None:
        self.driver.get(self.base + page)

    def tab_sets(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "div.sd-tab-set.framework-tabs")

    def pick(self, framework: str, in_set: int) -> None:
        """Click a framework's tab label in one tab set, as a reader does."""
        self.tab_sets()[in_set].find_element(
            By.CSS_SELECTOR, f":scope > label[data-sync-id='{framework}']"
        ).click()

    def visible(self) -> list[Visible]:
        """Per tab set, the one tab content the browser displays."""
        shown = []
        for tab_set in self.tab_sets():
            labels = tab_set.find_elements(By.CSS_SELECTOR, ":scope > label.sd-tab-label")
            contents = tab_set.find_elements(By.CSS_SELECTOR, ":scope > div.sd-tab-content")
            displayed = [
                Visible(label.get_attribute("data-sync-id"), printed(content))
                for label, content in zip(labels, contents)
                if content.is_displayed()
            ]
            assert len(displayed) == 1, f"a tab set displays {len(displayed)} tabs"
            shown.append(displayed[0])
        return shown

    def console(self) -> list[dict]:
        """The browser console since the last call."""
        return self.driver.get_log("browser")


@pytest.fixture
def reader(site, chromium) -> Reader:
    """A reader who has never chosen a framework: no stored choice, console drained."""
    chromium.execute_cdp_cmd(
        "Storage.clearDataForOrigin", {"origin": site.rstrip("/"), "storageTypes": "local_storage"}
    )
    chromium.get("about:blank")
    chromium.get_log("browser")
    return Reader(chromium, site)


def showing(framework: str, sets: int) -> list[Visible]:
    """Tab sets 1..sets all showing one framework's tab and its output."""
    return [Visible(framework, f"{framework} {n}") for n in range(1, sets + 1)]


def test_tab_sets_open_on_pytorch_for_a_new_reader(reader):
    reader.open("index.html")
    assert reader.visible() == showing("pytorch", 3)


def test_picking_mindspore_in_one_tab_set_switches_every_tab_set(reader):
    reader.open("index.html")
    reader.pick("mindspore", in_set=1)
    assert reader.visible() == showing("mindspore", 3)


def test_the_choice_carries_to_the_next_page(reader):
    reader.open("index.html")
    reader.pick("mindspore", in_set=2)
    reader.open("second.html")
    assert reader.visible() == showing("mindspore", 3)


NO_MXNET = Visible("mxnet", "This example has no MXNet counterpart.")


def test_framework_in_the_url_opens_every_tab_set_on_it_and_is_remembered(reader):
    reader.open("index.html?framework=mxnet")
    assert reader.visible() == showing("mxnet", 3)
    reader.open("second.html")
    assert reader.visible() == showing("mxnet", 2) + [NO_MXNET]


def test_framework_in_the_url_wins_over_the_remembered_one(reader):
    reader.open("index.html")
    reader.pick("mindspore", in_set=0)
    reader.open("index.html?framework=mxnet")
    assert reader.visible() == showing("mxnet", 3)


def test_a_tab_set_without_the_chosen_frameworks_code_shows_its_tab_saying_so(reader):
    """A reader who chose MXNet never sees another framework's code unannounced."""
    reader.open("second.html?framework=mxnet")
    assert reader.visible() == showing("mxnet", 2) + [NO_MXNET]


def test_reading_the_pages_logs_no_errors_to_the_console(reader):
    """A new reader's whole walk: pick a tab, next page, links with a framework."""
    reader.open("index.html")
    reader.pick("mindspore", in_set=0)
    reader.open("second.html")
    reader.open("index.html?framework=mxnet")
    reader.open("second.html?framework=pytorch")
    severe = [entry for entry in reader.console() if entry["level"] == "SEVERE"]
    external = [
        entry["message"] for entry in severe
        if entry["source"] == "network" and not entry["message"].startswith(reader.base)
    ]
    if external:  # no network here; the book should not need any
        warnings.warn(f"resources outside the book failed to load: {external}")
    errors = [
        entry["message"] for entry in severe
        if entry["message"] not in external
        # The browser asks for /favicon.ico on its own; a missing one is no page's error.
        and not entry["message"].startswith(reader.base + "favicon.ico ")
        and not any(known in entry["message"] and tolerated
                    for known, tolerated in KNOWN_ERRORS.items())
    ]
    assert errors == []
