"""The web console and the API docs in a real browser (Debian's headless chromium through
chromium-driver), against ``chronorag serve``, with every host but 127.0.0.1 unresolvable: the
pages must work from the packaged files alone. Screenshots go to ``tests/results/screens/``.

The story: upload two dated documents about one company, see them indexed, ask who led it as
of a date between them and see the dated evidence, open the company's timeline and see the
first chief executive's fact drawn closed, then slide known time back to before the second
document and see the successor's fact disappear.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT, ServeProcess

pytestmark = pytest.mark.e2e

SCREENS = ROOT / "tests" / "results" / "screens"
COMPANY = "Kestrel Dynamics"
FIRST, SECOND = "Orla Brenn", "Tomas Ferreira"
DOCS = [
    (
        "2019-04-02",
        f"{FIRST} was appointed chief executive of {COMPANY} in April 2019, the board said.",
    ),
    ("2023-05-10", f"{COMPANY} named {SECOND} as its new chief executive in May 2023."),
]
WAIT_S = 90


def _binary(*names: str) -> str | None:
    return next((p for p in (shutil.which(n) for n in names) if p), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver_path = _binary("chromedriver", "chromium-driver")
    chromium = _binary("chromium", "chromium-browser")
    if driver_path is None or chromium is None:
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1366,900",  # a laptop screen
        # No network but this machine: a page needing a CDN would not render.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    SCREENS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str) -> Path:
    path = SCREENS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(driver: WebDriver, css: str, n: int = 1) -> list[WebElement]:
    """At least ``n`` elements matching ``css``, or a failure naming the page's error line."""

    def found(d: WebDriver) -> list[WebElement] | bool:
        els = d.find_elements(By.CSS_SELECTOR, css)
        return els if len(els) >= n else False

    try:
        result: list[WebElement] = WebDriverWait(driver, WAIT_S, 0.2).until(found)
    except WebDriverException as exc:
        errors = driver.find_elements(By.ID, "error")
        shown = errors[0].text if errors else ""
        raise AssertionError(f"no {css!r} on {driver.current_url}; page error: {shown!r}") from exc
    return result


def set_value(driver: WebDriver, element_id: str, value: str) -> None:
    """Type into a field; date inputs are set directly (typing into them depends on locale)."""
    el = driver.find_element(By.ID, element_id)
    if el.get_attribute("type") == "date":
        driver.execute_script("arguments[0].value = arguments[1]", el, value)
    else:
        el.clear()
        el.send_keys(value)


def external_requests(driver: WebDriver, origin: str) -> list[str]:
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [u for u in urls if not u.startswith(origin) and not u.startswith("data:")]


@pytest.fixture(scope="module")
def uploaded(
    browser: WebDriver, server: ServeProcess, tmp_path_factory: pytest.TempPathFactory
) -> list[str]:
    """The two documents, uploaded through the console's Documents tab and seen indexed: the
    first as typed text (JSON), the second as a file (multipart)."""
    browser.get(server.url + "/")
    browser.find_element(By.ID, "tab-documents").click()
    ids = []
    for n, (published, text) in enumerate(DOCS):
        doc_id = f"kestrel-{uuid.uuid4().hex[:8]}"
        set_value(browser, "doc-id", doc_id)
        set_value(browser, "doc-published", published)
        if n == 0:
            set_value(browser, "doc-text", text)
        else:
            file = tmp_path_factory.mktemp("upload") / "kestrel-successor.txt"
            file.write_text(text)
            browser.find_element(By.ID, "doc-file").send_keys(str(file))
        browser.find_element(By.ID, "upload-button").click()
        wait_for(browser, f'#documents tr[data-id="{doc_id}"][data-status="indexed"]')
        ids.append(doc_id)
    return ids


def test_upload_shows_the_documents_indexed(
    browser: WebDriver, server: ServeProcess, uploaded: list[str]
) -> None:
    browser.find_element(By.ID, "refresh-documents").click()  # the server's list this time
    rows_js = "return [...document.querySelectorAll('#documents tbody tr')].map(r => r.dataset.id)"
    WebDriverWait(browser, WAIT_S).until(lambda d: set(uploaded) <= set(d.execute_script(rows_js)))
    row = browser.find_element(By.CSS_SELECTOR, f'#documents tr[data-id="{uploaded[0]}"]')
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[3] == "indexed" and cells[6] == DOCS[0][0]
    assert int(cells[5]) >= 1  # facts extracted
    second = browser.find_element(By.CSS_SELECTOR, f'#documents tr[data-id="{uploaded[1]}"]')
    assert "kestrel-successor.txt" in second.text  # a file's name is its default title
    shot(browser, "01-documents-indexed")
    assert external_requests(browser, server.url) == []


def test_ask_as_of_shows_dated_evidence(
    browser: WebDriver, server: ServeProcess, uploaded: list[str]
) -> None:
    browser.get(server.url + "/")
    set_value(browser, "question", f"Who is the chief executive of {COMPANY}?")
    set_value(browser, "as-of", "2021-06-30")
    browser.find_element(By.ID, "ask-button").click()
    wait_for(browser, "#ask-result:not([hidden]) .evidence-item")
    assert browser.find_element(By.ID, "answer").text == FIRST
    scope = browser.find_element(By.ID, "time-scope").text
    assert "explicit" in scope and "2021-06-30" in scope
    published = [
        t.get_attribute("datetime")
        for t in browser.find_elements(By.CSS_SELECTOR, "#evidence time.published")
    ]
    assert published and all(p[:10] <= "2021-06-30" for p in published), published
    assert any(p.startswith(DOCS[0][0]) for p in published)
    links = browser.find_elements(By.CSS_SELECTOR, "#evidence a")
    assert any(uploaded[0] in (a.get_attribute("href") or "") for a in links)
    facts = browser.find_element(By.ID, "facts").text
    assert FIRST in facts and "chief executive of" in facts
    shot(browser, "02-ask-as-of")


def _fact(browser: WebDriver, subject: str) -> WebElement:
    return browser.find_element(
        By.CSS_SELECTOR, f'#timeline-chart g.fact[data-subject="{subject}"]'
    )


def test_timeline_draws_the_superseded_fact_closed(
    browser: WebDriver, server: ServeProcess, uploaded: list[str]
) -> None:
    browser.get(server.url + "/")
    browser.find_element(By.ID, "tab-timeline").click()
    set_value(browser, "entity", COMPANY)
    browser.find_element(By.ID, "timeline-button").click()
    wait_for(browser, "#timeline-chart g.fact", n=2)
    first, second = _fact(browser, FIRST), _fact(browser, SECOND)
    assert first.get_attribute("data-closed") == "true"
    assert "closed" in (first.get_attribute("class") or "")
    assert first.find_elements(By.CSS_SELECTOR, "line.cap")  # drawn with an end cap
    assert second.get_attribute("data-closed") == "false"
    assert second.find_elements(By.CSS_SELECTOR, "path.arrow")  # still open
    # The superseded bar ends where the successor's begins.
    first_bar = first.find_element(By.CSS_SELECTOR, "rect.bar").rect
    second_bar = second.find_element(By.CSS_SELECTOR, "rect.bar").rect
    assert abs(first_bar["x"] + first_bar["width"] - second_bar["x"]) < 12
    first.find_element(By.CSS_SELECTOR, "rect.bar").click()  # its sources
    detail = wait_for(browser, "#fact-detail:not([hidden]) a.source")
    assert any(uploaded[0] in a.text for a in detail)
    shot(browser, "03-timeline-now")

    slider = browser.find_element(By.ID, "known-slider")
    slider.send_keys(Keys.HOME)  # known time: the first document's day
    WebDriverWait(browser, 10).until(
        lambda d: _fact(d, SECOND).get_attribute("data-visible") == "false"
    )
    assert browser.find_element(By.ID, "known-label").text == DOCS[0][0]
    assert _fact(browser, FIRST).get_attribute("data-visible") == "true"
    assert not _fact(browser, SECOND).is_displayed()
    # Known then, the first fact's end was not: as believed on that day, it is still open.
    assert _fact(browser, FIRST).get_attribute("data-closed") == "false"
    shot(browser, "04-timeline-known-2019")
    slider.send_keys(Keys.END)
    WebDriverWait(browser, 10).until(
        lambda d: _fact(d, SECOND).get_attribute("data-visible") == "true"
    )
    assert _fact(browser, FIRST).get_attribute("data-closed") == "true"


def test_period_shows_summary_facts_and_neighbours(
    browser: WebDriver, server: ServeProcess, uploaded: list[str]
) -> None:
    browser.get(server.url + "/")
    browser.find_element(By.ID, "tab-period").click()
    set_value(browser, "period", "2019-04")
    browser.find_element(By.ID, "period-button").click()
    wait_for(browser, "#period-result:not([hidden]) #period-nav a")
    assert browser.find_element(By.ID, "period-title").text.startswith("2019-04 (month")
    assert FIRST in browser.find_element(By.ID, "period-facts").text
    assert uploaded[0] in browser.find_element(By.ID, "period-documents").text
    browser.find_element(By.CSS_SELECTOR, '#period-nav a[data-period="2019-Q2"]').click()
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, "period-title").text.startswith("2019-Q2")
    )
    children = [
        a.get_attribute("data-period")
        for a in browser.find_elements(By.CSS_SELECTOR, "#period-nav a")
    ]
    assert children == ["2019", "2019-04", "2019-05", "2019-06"]
    shot(browser, "05-period")


def test_api_key_is_kept_in_session_storage_and_sent(
    browser: WebDriver, server: ServeProcess
) -> None:
    browser.get(server.url + "/")
    set_value(browser, "api-key", "console-test-key")
    stored = browser.execute_script("return sessionStorage.getItem('chronorag.apiKey')")
    assert stored == "console-test-key"
    browser.refresh()
    assert browser.find_element(By.ID, "api-key").get_attribute("value") == "console-test-key"
    browser.find_element(By.ID, "api-key").send_keys(Keys.CONTROL, "a", Keys.DELETE)
    assert browser.execute_script("return sessionStorage.getItem('chronorag.apiKey')") is None


def test_docs_render_without_network(browser: WebDriver, server: ServeProcess) -> None:
    browser.get(server.url + "/docs")
    ops = wait_for(browser, ".opblock", n=10)
    paths = {
        e.text.replace("\u200b", "")
        for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert "/v1/documents" in paths and "/v1/query" in paths and "/metrics" in paths
    assert len(ops) >= 10
    shot(browser, "06-swagger-offline")
    assert external_requests(browser, server.url) == []

    browser.get(server.url + "/redoc")
    wait_for(browser, "[data-item-id]", n=5)
    assert "chronorag" in browser.find_element(By.TAG_NAME, "h1").text
    shot(browser, "07-redoc-offline")
    # ReDoc's sidebar always asks for its maker's logo (no option turns it off); the page's
    # Content-Security-Policy refuses it, so nothing leaves the machine, and ReDoc hides it.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert set(external_requests(browser, server.url)) <= {logo}
    logs = [e["message"] for e in browser.get_log("browser")]  # type: ignore[attr-defined]
    blocked = [m for m in logs if logo in m and "Content Security Policy" in m]
    assert blocked or logo not in external_requests(browser, server.url), logs
