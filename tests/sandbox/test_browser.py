"""The sandbox in headless Chromium (Debian's ``chromium`` package), driven by Playwright.

The walk-through is a list of steps on one ``Walkthrough``; a later flow (accept the pre-check,
go, verified) is one more step appended to ``WINDOW_STEPS``. On failure a full-page screenshot
lands in ``test-artifacts/``. Playwright never downloads a browser here: a missing
``/usr/bin/chromium`` fails the test with the package to install.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.sandbox.run import Sandbox, example_command
from bot.sandbox.start import start_sandbox
from bot.settings import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "upgradebot.yml"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OLGA, ANNA, EVE = "U0OLGA", "U0ANNA", "U0EVE"
TIMEOUT_MS = 10_000


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    started = await start_sandbox(
        load_config(EXAMPLE), "127.0.0.1", 0, db_path=tmp_path / "sandbox.db", tick_seconds=0
    )
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(sudo apt-get install chromium). The browser tests never download a browser."
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, sandbox: Sandbox) -> AsyncIterator[Page]:
    # A zone far from the config's (Europe/Brussels): dates must show in the browser's zone.
    context = await browser.new_context(
        locale="en-US", timezone_id="America/New_York", viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await opened.goto(sandbox.url)
    try:
        yield opened
    finally:
        await context.close()
    assert dialogs == [], f"the page raised a browser dialog: {dialogs}"


@contextlib.asynccontextmanager
async def screenshot_on_failure(page: Page, name: str) -> AsyncIterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


@dataclass
class Walkthrough:
    page: Page
    sandbox: Sandbox

    async def act_as(self, user: str) -> None:
        await expect(self.page.locator("body[data-ready]")).to_have_count(1)
        if await self.page.locator("#user-switch").input_value() != user:
            await self.page.select_option("#user-switch", user)
        await expect(self.page.locator("body[data-ready]")).to_have_count(1)
        await expect(self.page.locator("#user-switch")).to_have_value(user)

    async def send(self, text: str) -> None:
        await self.page.fill("#composer-input", text)
        await self.page.press("#composer-input", "Enter")

    def channel_message(self, text: str) -> Any:
        return self.page.locator("#messages .msg", has_text=text)

    def ephemeral(self, text: str) -> Any:
        return self.page.locator("#messages .msg.ephemeral", has_text=text)

    def proposal(self) -> Any:
        return self.channel_message("Upgrade #1: lab → 10.5")

    async def click_approve(self) -> None:
        """Approve carries a confirm dialog: it must show before anything is sent."""
        await self.proposal().locator("button[data-action-id=window_approve]").click()
        dialog = self.page.locator("#confirm-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator(".confirm-title")).to_have_text("Approve #1?")
        await dialog.locator(".confirm-yes").click()
        await expect(dialog).to_be_hidden()


Step = Callable[[Walkthrough], Awaitable[None]]


async def propose_from_the_composer(w: Walkthrough) -> None:
    await w.act_as(OLGA)
    command = example_command(w.sandbox.config, w.sandbox.clock())
    await expect(w.page.locator("#hint")).to_have_text(command)
    await w.send(command)
    await expect(w.proposal()).to_have_count(1)
    ack = w.ephemeral("Reading the lab cluster")
    await expect(ack.locator(".msg-only-you")).to_have_text("Only visible to you")
    await expect(w.ephemeral("Proposed #1 in #upgrades-lab")).to_have_count(1)
    fields = w.proposal().locator(".bk-field")
    await expect(fields.filter(has_text="Proposed by")).to_contain_text("@Olga")
    window = w.proposal().locator(".bk-field", has_text="Window").locator("time.slack-date")
    # 22:00 in Brussels is 16:00 in New York; the UTC fallback is gone.
    await expect(window.first).to_have_text(re.compile(r"4:00\s?PM$"))
    await expect(window.first).not_to_contain_text("UTC")


async def proposer_is_refused(w: Walkthrough) -> None:
    await w.click_approve()
    await expect(w.ephemeral("only approvers may approve")).to_have_count(1)
    await expect(w.proposal().locator("button[data-action-id=window_approve]")).to_have_count(1)


async def approver_approves(w: Walkthrough) -> None:
    await w.act_as(ANNA)
    await expect(w.page.locator("#messages .msg.ephemeral")).to_have_count(0)
    await w.click_approve()
    await expect(w.proposal().locator(".msg-edited")).to_have_text("(edited)")
    await expect(w.proposal().locator("button[data-action-id=window_approve]")).to_have_count(0)
    await expect(w.proposal().locator(".msg-replies")).to_contain_text("repl")
    await expect(w.proposal()).to_contain_text("Approved by @Anna")
    await w.proposal().locator(".msg-replies").click()
    replies = w.page.locator("#thread-messages .msg").filter(has_not_text="Upgrade #1")
    await expect(replies.first).to_contain_text("Approved by @Anna")


async def travel_to_the_next_scheduled_action(w: Walkthrough) -> None:
    """The clock moves and the scheduler runs what fell due (the day-before pre-check)."""
    await expect(w.page.locator("#clock-next")).to_have_text(re.compile(r"^next: "))
    replies = await w.page.locator("#thread-messages .msg").count()
    await w.page.click("[data-travel=next]")
    await expect(w.page.locator("#notice")).to_have_text("ran 1 scheduled action(s)")
    await expect(w.page.locator("#clock-offset")).to_contain_text("ahead")
    await expect(w.page.locator("#thread-messages .msg")).to_have_count(replies + 1)


def in_thread(w: Walkthrough, text: str) -> Any:
    return w.page.locator("#thread-messages .msg", has_text=text)


async def confirm_dialog(w: Walkthrough) -> None:
    dialog = w.page.locator("#confirm-dialog")
    await expect(dialog).to_be_visible()
    await dialog.locator(".confirm-yes").click()
    await expect(dialog).to_be_hidden()


async def operator_settles_the_details(w: Walkthrough) -> None:
    await w.act_as(OLGA)
    checklist = in_thread(w, "Details established")
    for item in ("key_functions", "hotfixes", "backup"):
        button = checklist.locator(f"button[data-action-id=details_confirm][data-value='1:{item}']")
        await button.click()
        if item == "hotfixes":  # which hotfixes, if any, is asked in a modal
            modal = w.page.locator("#modal-layer form")
            await expect(modal).to_contain_text("Hotfixes for #1")
            await modal.get_by_text("No hotfixes for this window", exact=True).click()
            await modal.locator(".modal-submit").click()
        await expect(button).to_have_count(0)
    await expect(checklist).to_contain_text("G2 closed")


async def operator_accepts_the_precheck(w: Walkthrough) -> None:
    summary = in_thread(w, "Day-before pre-check")
    await expect(summary).to_contain_text("upload has been completed successfully")
    await summary.locator("button[data-action-id=precheck_accept]").click()
    await confirm_dialog(w)
    await expect(summary).to_contain_text("Accepted by @Olga")


async def travel_to_the_start_and_give_the_go(w: Walkthrough) -> None:
    go = in_thread(w, "G4 · Go")
    replies = w.page.locator("#thread-messages .msg")
    while await go.count() == 0:
        # Each scheduled action before the go (two reminders, then the start) posts one reply;
        # wait for it before looking again, or the next click would jump past the window.
        seen = await replies.count()
        await w.page.click("[data-travel=next]")
        await expect(replies).to_have_count(seen + 1)
    await go.locator("button[data-action-id=go_start]").click()
    modal = w.page.locator("#modal-layer form")
    await expect(modal).to_contain_text("Start #1?")
    await modal.locator("input[type=checkbox]").check()
    await modal.locator("button[type=submit], .modal-submit").first.click()
    await expect(in_thread(w, "given by @Olga")).to_have_count(1)


async def the_upgrade_runs_and_is_verified(w: Walkthrough) -> None:
    verification = in_thread(w, "G5 · Verification")
    await expect(verification).to_contain_text("Every agent on 10.5.0 CU18", timeout=60_000)
    await verification.locator("button[data-action-id=verify_ok]").click()
    await confirm_dialog(w)
    await expect(verification).to_contain_text("Verified by @Olga")
    await expect(w.proposal()).to_contain_text("✅G5")


WINDOW_STEPS: list[Step] = [
    propose_from_the_composer,
    proposer_is_refused,
    approver_approves,
    operator_settles_the_details,
    travel_to_the_next_scheduled_action,
    operator_accepts_the_precheck,
    travel_to_the_start_and_give_the_go,
    the_upgrade_runs_and_is_verified,
]


@pytest.mark.timeout(120)
async def test_a_window_is_proposed_approved_prechecked_run_and_verified_in_the_browser(
    page: Page, sandbox: Sandbox
) -> None:
    walkthrough = Walkthrough(page, sandbox)
    for step in WINDOW_STEPS:
        async with screenshot_on_failure(page, f"window-{step.__name__}"):
            await step(walkthrough)


async def test_the_propose_modal_shows_required_fields_and_the_bots_errors_by_the_field(
    page: Page, sandbox: Sandbox
) -> None:
    w = Walkthrough(page, sandbox)
    async with screenshot_on_failure(page, "modal"):
        await w.act_as(OLGA)
        await w.send("/upgrade propose")
        modal = page.locator("form.modal")
        await expect(modal.locator(".modal-title")).to_have_text("Propose an upgrade")
        await modal.locator(".modal-submit").click()
        target = modal.locator(".bk-input[data-block-id=target]")
        await expect(target.locator(".bk-error")).to_have_text(
            "Please complete this required field."
        )
        day = example_command(sandbox.config, sandbox.clock()).split()[4][:10]
        await modal.locator("select[data-action-id=system_select]").select_option("lab")
        await target.locator("input").fill("9.9")
        await modal.locator("input[type=date]").fill(day)
        await modal.locator("input[type=time]").fill("22:00")
        await modal.locator(".modal-submit").click()
        await expect(target.locator(".bk-error")).to_contain_text("9.9")
        await expect(modal.locator(".bk-input[data-block-id=start_date] .bk-error")).to_be_hidden()
        await target.locator("input").fill("10.5")
        await modal.locator(".modal-submit").click()
        await expect(modal).to_have_count(0)
        await expect(w.proposal()).to_have_count(1)


async def test_message_text_cannot_run_script_or_add_elements(page: Page, sandbox: Sandbox) -> None:
    w = Walkthrough(page, sandbox)
    async with screenshot_on_failure(page, "escaping"):
        await w.act_as(EVE)
        await w.send(
            "<script>alert(1)</script> <img src=x onerror=alert(2)> <javascript:alert(3)|click>"
        )
        message = w.channel_message("alert(1)")
        await expect(message).to_contain_text("<script>alert(1)</script>")
        await expect(message).to_contain_text("<img src=x onerror=alert(2)>")
        body = message.locator(".msg-body")
        await expect(body.locator("script, img, a")).to_have_count(0)
        await expect(body).to_contain_text("click")


async def test_the_home_tab_shows_what_the_approver_owes_and_leads_to_the_thread(
    page: Page, sandbox: Sandbox
) -> None:
    w = Walkthrough(page, sandbox)
    async with screenshot_on_failure(page, "home"):
        await propose_from_the_composer(w)
        await w.act_as(ANNA)
        await page.locator("#home-button").click()
        home = page.locator("#home-body")
        await expect(page.locator("#channel-pane")).to_be_hidden()
        await expect(home).to_contain_text("Waiting for you (1)")
        await expect(home).to_contain_text("G1 Window approved for #1 lab → 10.5")
        # The deadline is a date token: shown in the browser's zone, not as the UTC fallback.
        await expect(home.locator("time.slack-date").first).not_to_contain_text("UTC")
        await home.locator("button", has_text="Open the thread").click()
        await expect(page.locator("#channel-pane")).to_be_visible()
        await expect(page.locator("#thread-pane")).to_be_visible()
        await expect(page.locator("#thread-messages .msg").first).to_contain_text(
            "Upgrade #1: lab → 10.5"
        )
        await w.act_as(EVE)
        await page.locator("#home-button").click()
        await expect(home).to_contain_text("Nothing is waiting for you")
        await home.locator("a", has_text="#1").click()  # the window's link in "Coming up"
        await expect(page.locator("#thread-pane")).to_be_visible()
