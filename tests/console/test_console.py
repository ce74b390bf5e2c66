"""The agents' console in a real browser (Debian's headless Chromium driven by Playwright):
log in, take a call, create and dispatch a ticket, see it in the department's view, reply as the
department, see the SLA board change. Screenshots of each page go to tests/artifacts/console/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.conftest import ARTIFACTS, settings_for
from tests.support.auth import create_key
from tests.support.server import ServerThread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
SHOTS = ARTIFACTS / "console"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
async def server(db: Database, pg_url: str) -> AsyncIterator[ServerThread]:
    app = create_app(settings_for(pg_url, self_service_threshold=None))
    with ServerThread(app) as s:
        yield s


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def login(page: object, base: str, name: str, password: str) -> None:
    await page.goto(f"{base}/console/#/login")  # type: ignore[attr-defined]
    await page.fill("#login-name", name)  # type: ignore[attr-defined]
    await page.fill("#login-password", password)  # type: ignore[attr-defined]
    async with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login"),  # type: ignore[attr-defined]
                                    timeout=60_000) as answer:
        await page.click("button[type=submit]")  # type: ignore[attr-defined]
    response = await answer.value
    assert response.status == 200, f"sign-in as {name}: {response.status} {await response.text()}"
    # Signed in: the header names the user (the first page may still be loading its data).
    await page.wait_for_function("n => document.querySelector('#who')?.textContent.includes(n)",  # type: ignore[attr-defined]
                                 arg=name, timeout=60_000)


async def test_take_a_call_dispatch_reply_and_watch_the_board(
    server: ServerThread, browser: object, db: Database
) -> None:
    await create_key(db, "agent", name="王芳", password="agent-pass-1")
    await create_key(db, "supervisor", name="李班长", password="super-pass-1")
    await create_key(db, "department", "env", name="生态环境局", password="env-pass-1")

    ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # type: ignore[attr-defined]
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # A supervisor's board before anything happens this month.
    board = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()  # type: ignore[attr-defined]
    board.on("pageerror", lambda e: errors.append(str(e)))
    await login(board, server.url, "李班长", "super-pass-1")
    await board.click("text=督办看板")
    await board.wait_for_selector("#board-updated")
    assert "生态环境局" not in (await board.text_content("main") or "")

    # An agent takes a call: the form suggests a unit as the agent types.
    await login(page, server.url, "王芳", "agent-pass-1")
    await page.wait_for_selector("#ticket-form")
    await page.fill("#f-phone", "13800138000")
    await page.fill("#f-name", "张先生")
    await page.fill("#f-text", "投诉塘厦镇某工地夜间施工噪音扰民，每天凌晨还在打桩")
    await page.wait_for_function("document.querySelector('#sg-unit')?.textContent.includes('生态环境局')")
    await page.screenshot(path=str(SHOTS / "1-take-a-call.png"))
    await page.keyboard.press("Control+Enter")
    number = (await page.text_content("#tracking-number", timeout=10_000)) or ""
    assert number.startswith("DG")

    # The ticket page shows it dispatched to the environment bureau, with its timeline.
    await page.click("text=查看工单")
    await page.wait_for_selector("#timeline li")
    assert "生态环境局" in (await page.text_content("#ticket-unit") or "")
    await page.screenshot(path=str(SHOTS / "2-ticket.png"))

    # The queues page lists it.
    await page.goto(f"{server.url}/console/#/queues?tab=all")
    await page.wait_for_selector(f"tr[data-tn='{number}']")
    await page.screenshot(path=str(SHOTS / "3-queues.png"))

    # The department sees it in its own view, signs for it and replies.
    dept = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()  # type: ignore[attr-defined]
    dept.on("pageerror", lambda e: errors.append(str(e)))
    await login(dept, server.url, "生态环境局", "env-pass-1")
    await dept.wait_for_selector(f"tr[data-tn='{number}']")
    await dept.screenshot(path=str(SHOTS / "4-department.png"))
    await dept.click(f"tr[data-tn='{number}']")
    await dept.click("button[data-action=accept]")
    await dept.click("text=确认签收")
    try:
        await dept.wait_for_selector("button[data-action=reply]", timeout=10_000)
    finally:
        await dept.screenshot(path=str(SHOTS / "4b-department-accepted.png"))
    await dept.click("button[data-action=reply]")
    await dept.fill("#f-text", "已责令施工单位停止夜间施工，并对其处以罚款。")
    async with dept.expect_response(lambda r: r.url.endswith(f"/api/v1/tickets/{number}/reply")) as answer:
        await dept.click("text=确认办结回复")
    replied = await answer.value
    assert replied.status == 200, f"the reply was refused: {replied.status} {await replied.text()}"
    try:
        await dept.wait_for_function("document.querySelector('h1').textContent.includes('已办结')")
    finally:
        await dept.screenshot(path=str(SHOTS / "5-department-replied.png"))
    assert "已责令施工单位" in (await dept.text_content("main") or "")

    # The supervisor's board now shows the unit: its open deadline while dispatched, then its
    # figures for the month once it has replied.
    await board.reload()
    await board.wait_for_selector("#board-updated")
    await board.screenshot(path=str(SHOTS / "6-board.png"))
    text = await board.text_content("main") or ""
    assert "市生态环境局" in text and "100.0%" in text
    assert errors == []
