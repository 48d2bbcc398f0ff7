"""In a real browser, does one framework choice drive every tab set, on every page?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from helpers import browser
from helpers.fixture_book import ALLOW_MISSING_TABS, build, cell

FRAMEWORKS = ["pytorch", "mxnet", "mindspore"]
STORAGE_KEY = "sphinx-design-tab-id-framework"  # where sphinx-design keeps the choice

pytestmark = browser.marks()


def tab_set(n: int, *frameworks: str) -> str:
    """Cells for one tab set: each framework prints its name and the set's number."""
    return "".join(cell(f'print("{fw} {n}")', fw) for fw in frameworks or FRAMEWORKS)


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """A two-page book with the real book's settings and page assets, built."""
    tmp = tmp_path_factory.mktemp("browser")
    first = "# First\n\n" + "Text between.\n\n".join(tab_set(n) for n in (1, 2, 3))
    # The third set has no MXNet cell: its MXNet tab says so.
    second = (
        "# Second\n\n"
        + tab_set(1)
        + "Text.\n\n"
        + tab_set(2)
        + "Text.\n\n"
        + tab_set(3, "pytorch", "mindspore")
    )
    result = build(
        tmp, {"index": first, "second": second}, like_book=True, sphinx_config=ALLOW_MISSING_TABS
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp / "out" / "_build" / "html"


@pytest.fixture(scope="module")
def site(html) -> Iterator[str]:
    """The fixture book served over HTTP on a free port."""
    with browser.serve(html) as base:
        yield base


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    with browser.chromium() as driver:
        yield driver


@dataclass(frozen=True)
class Visible:
    framework: str  # the sync id of the tab whose content shows
    output: str  # what that content's executed cells printed, or the note that it has none


def printed(content: WebElement) -> str:
    """What the cells of one tab content printed, as the browser renders it."""
    outputs = content.find_elements(By.CSS_SELECTOR, ".cell_output")
    if not outputs:
        return " ".join(
            note.text for note in content.find_elements(By.CSS_SELECTOR, ".framework-missing")
        )
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

    def saved(self) -> str | None:
        """The framework choice the browser keeps for the next page."""
        return self.driver.execute_script(f"return localStorage.getItem('{STORAGE_KEY}')")


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


def test_the_framework_in_the_url_is_read_in_any_case_and_saved_as_its_id(reader):
    reader.open("index.html?framework=MXNet")
    assert reader.visible() == showing("mxnet", 3)
    assert reader.saved() == "mxnet"
    assert reader.driver.current_url.endswith("index.html?framework=mxnet")
    reader.open("second.html?FRAMEWORK=MindSpore")
    assert reader.visible() == showing("mindspore", 3)


def test_an_unknown_framework_in_the_url_leaves_the_saved_choice_alone(reader):
    reader.open("index.html")
    reader.pick("mindspore", in_set=0)
    reader.open("index.html?framework=tensorflow")
    assert reader.visible() == showing("mindspore", 3)
    assert reader.saved() == "mindspore"
    assert "framework=" not in reader.driver.current_url
    reader.open("second.html")
    assert reader.visible() == showing("mindspore", 3)


def test_an_unknown_framework_for_a_new_reader_opens_the_default_and_saves_nothing(reader):
    reader.open("index.html?framework=tensorflow")
    assert reader.visible() == showing("pytorch", 3)
    assert reader.saved() is None


def test_a_page_opened_from_disk_reads_the_url_the_same_way(html, chromium):
    """file:// pages may not rewrite their address; the choice is put right all the same."""
    reader = Reader(chromium, html.as_uri() + "/")
    reader.open("index.html")
    chromium.execute_script("localStorage.clear()")
    reader.open("index.html")
    reader.pick("mindspore", in_set=0)
    reader.open("index.html?framework=tensorflow")
    assert reader.visible() == showing("mindspore", 3)
    assert reader.saved() == "mindspore"
    reader.open("second.html?framework=MXNet")
    assert reader.visible() == showing("mxnet", 2) + [NO_MXNET]
    assert reader.saved() == "mxnet"
    chromium.execute_script("localStorage.clear()")


def test_reading_the_pages_logs_nothing_to_the_console(reader):
    """A new reader's whole walk, URL edge cases included: no error, no warning at all."""
    reader.open("index.html")
    reader.pick("mindspore", in_set=0)
    reader.open("second.html")
    reader.open("index.html?framework=mxnet")
    reader.open("second.html?framework=pytorch")
    reader.open("index.html?framework=MindSpore")
    reader.open("second.html?framework=tensorflow")
    logged = [
        f"{entry['level']}: {entry['message']}"
        for entry in reader.console()
        if entry["level"] in ("SEVERE", "WARNING")
    ]
    assert logged == []
