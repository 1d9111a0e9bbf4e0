"""Real-browser journeys: `streamlit run app.py` on a free localhost port, driven by Playwright in Debian's
Chromium. Every request the browser makes is recorded; a journey fails if any went to another host (issue 17)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from appserver import StreamlitServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("IPT_TRAINING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "test-results"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's 'chromium' package (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed; pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path):
    srv = StreamlitServer(tmp_path / "data").start()
    yield srv
    srv.kill()


@pytest.fixture
def demo_server(tmp_path, demo_template):
    """A server on a copy of the demo database built once per run."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "app.db")
    src = demo_template.parent / "data"
    if src.exists():
        shutil.copytree(src, data, dirs_exist_ok=True)
    if (demo_template.parent / "issuer").exists():  # the issuer's keys, beside the database
        shutil.copytree(demo_template.parent / "issuer", data / "issuer", dirs_exist_ok=True)
    srv = StreamlitServer(data).start()
    yield srv
    srv.kill()


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # every request of every page of the journey (data: and blob: URLs have no host)
    foreign: list[str] = []
    context.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
               and urlsplit(r.url).hostname not in LOCAL_HOSTS else None)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not foreign, f"the browser made requests to other hosts: {sorted(set(foreign))[:5]}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp']")


def sign_in(page, url: str, username: str, password: str) -> None:
    open_app(page, url)
    page.get_by_label("Sign-in name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Welcome,").first.wait_for()
