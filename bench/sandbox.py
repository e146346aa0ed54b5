"""How quick does the sandbox feel? Start-up to first render, and a click to the bot's answer.

Run: ``.venv/bin/python bench/sandbox.py [--runs 5] [--clicks 5] [--screenshot docs/sandbox.png]``

Start-up: from spawning ``upgradebot sandbox --port 0`` to headless Chromium having drawn the
channel view (``body[data-ready]``, set once the first event is on screen); the browser is
launched before the clock starts. Click: in the last started sandbox, Anna confirms "Approve" on
a fresh proposal and the page's own clock (``performance.now()``) runs until the message shows
"Approved by": page -> signed payload -> bot -> Web API stand-in -> event stream -> DOM. The same
for ``/upgrade help`` until its ephemeral shows. Figures are medians.
Targets (issue 6): first render under 2 s, click to answer under 300 ms.
``--screenshot`` saves the page after a propose + approve (the README's picture).
Needs Debian's ``chromium`` package at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright, expect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.sandbox.run import example_command  # noqa: E402
from bot.settings import load_config  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
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
CONFIG = ROOT / "examples" / "upgradebot.yml"
START_TARGET_SECONDS = 2.0
CLICK_TARGET_MS = 300.0

# Confirms the open dialog and resolves with the milliseconds until the message says so.
_TIMED_CONFIRM = """([ts, text]) => new Promise((resolve) => {
  const shows = () => {
    const node = [...document.querySelectorAll('#messages .msg')].find(m => m.dataset.ts === ts);
    return node && node.textContent.includes(text);
  };
  const start = performance.now();
  const watch = new MutationObserver(() => {
    if (shows()) { watch.disconnect(); resolve(performance.now() - start); }
  });
  watch.observe(document.getElementById('messages'), {childList: true, subtree: true});
  document.querySelector('#confirm-dialog .confirm-yes').click();
})"""
_TIMED_COMMAND = """([text, expected]) => new Promise((resolve) => {
  const start = performance.now();
  const watch = new MutationObserver(() => {
    const found = [...document.querySelectorAll('#messages .msg.ephemeral')]
      .some(m => m.textContent.includes(expected));
    if (found) { watch.disconnect(); resolve(performance.now() - start); }
  });
  watch.observe(document.getElementById('messages'), {childList: true, subtree: true});
  const input = document.getElementById('composer-input');
  input.value = text;
  document.getElementById('composer').requestSubmit();
})"""


def spawn_sandbox(db: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "UPGRADEBOT_"))}
    env["UPGRADEBOT_CONFIG"] = str(CONFIG)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0", "--db", str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "open http://" in line:
            return process, line.split("open ", 1)[1].split()[0]
    raise RuntimeError("the sandbox printed no address")


def stop_sandbox(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    if process.wait(timeout=15) != 0:
        raise RuntimeError(f"the sandbox exited {process.returncode} on Ctrl-C")


async def new_page(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    return await context.new_page()


async def time_start(browser: Browser, db: Path) -> tuple[float, float, subprocess.Popen[str], str]:
    """(to the address printed, to the first render) in seconds; the process keeps running."""
    started = time.perf_counter()
    process, url = spawn_sandbox(db)
    listening = time.perf_counter() - started
    page = await new_page(browser)
    await page.goto(url)
    await page.wait_for_selector("body[data-ready]", state="attached")
    rendered = time.perf_counter() - started
    await page.context.close()
    return listening, rendered, process, url


async def act_as(page: Page, user: str) -> None:
    await page.wait_for_selector("body[data-ready]", state="attached")
    if await page.locator("#user-switch").input_value() != user:
        await page.select_option("#user-switch", user)
        await page.wait_for_selector("body[data-ready]", state="attached")


async def propose(page: Page, command: str, number: int) -> str:
    await act_as(page, "U0OLGA")
    await page.fill("#composer-input", command)
    await page.press("#composer-input", "Enter")
    message = page.locator("#messages .msg", has_text=f"Upgrade #{number}: ")
    await expect(message).to_have_count(1, timeout=15_000)
    return str(await message.get_attribute("data-ts"))


async def time_clicks(browser: Browser, url: str, clicks: int) -> tuple[list[float], list[float]]:
    config = load_config(CONFIG)
    page = await new_page(browser)
    await page.goto(url)
    proposals = []
    for n in range(clicks):
        # A window per evening (outside blackouts); the bench's sandbox starts empty.
        command = example_command(config, time_now() + timedelta(days=n))
        proposals.append(await propose(page, command, n + 1))
    await act_as(page, "U0ANNA")
    click_ms = []
    for ts in proposals:
        message = page.locator(f'#messages .msg[data-ts="{ts}"]')
        await message.locator("button[data-action-id=window_approve]").click()
        await page.wait_for_selector("#confirm-dialog[open]")
        click_ms.append(float(await page.evaluate(_TIMED_CONFIRM, [ts, "Approved by"])))
    command_ms = [
        float(await page.evaluate(_TIMED_COMMAND, ["/upgrade help", "/upgrade propose"]))
        for _ in range(clicks)
    ]
    await page.context.close()
    return click_ms, command_ms


def time_now() -> datetime:
    return datetime.now(UTC)


async def take_screenshot(browser: Browser, path: Path) -> None:
    """The README's picture: a proposal, Olga's refused click, Anna's approval, the thread."""
    with tempfile.TemporaryDirectory() as scratch:
        process, url = spawn_sandbox(Path(scratch) / "sandbox.db")
        try:
            page = await new_page(browser)
            await page.goto(url)
            command = example_command(load_config(CONFIG), time_now())
            ts = await propose(page, command, 1)
            await act_as(page, "U0ANNA")
            await page.locator(
                f'.msg[data-ts="{ts}"] button[data-action-id=window_approve]'
            ).click()
            await page.click("#confirm-dialog .confirm-yes")
            await expect(page.locator(f'.msg[data-ts="{ts}"]')).to_contain_text("Approved by")
            await page.locator(f'.msg[data-ts="{ts}"] .msg-replies').click()
            await page.wait_for_timeout(300)
            await page.locator("#messages").evaluate("m => { m.scrollTop = 0; }")
            await page.screenshot(path=str(path))
            await page.context.close()
        finally:
            stop_sandbox(process)
    print(f"screenshot: {path}")


async def run(runs: int, clicks: int, screenshot: Path | None) -> bool:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        listening, rendered = [], []
        with tempfile.TemporaryDirectory() as scratch:
            for n in range(runs):
                up, drawn, process, url = await time_start(browser, Path(scratch) / f"{n}.db")
                listening.append(up)
                rendered.append(drawn)
                if n < runs - 1:
                    stop_sandbox(process)
            try:
                click_ms, command_ms = await time_clicks(browser, url, clicks)
            finally:
                stop_sandbox(process)
        if screenshot is not None:
            await take_screenshot(browser, screenshot)
        await browser.close()
    start, click = statistics.median(rendered), statistics.median(click_ms)
    print(f"runs: {runs} start-ups, {clicks} clicks; median figures")
    print(f"start -> address printed:       {statistics.median(listening):7.2f} s")
    print(
        f"start -> first render:          {start:7.2f} s   (target < {START_TARGET_SECONDS:.0f} s)"
    )
    print(f"click Approve -> 'Approved by': {click:7.0f} ms  (target < {CLICK_TARGET_MS:.0f} ms)")
    print(f"/upgrade help -> ephemeral:     {statistics.median(command_ms):7.0f} ms")
    met = start < START_TARGET_SECONDS and click < CLICK_TARGET_MS
    print(f"targets: {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
    asyncio.run(run(args.runs, args.clicks, args.screenshot))


if __name__ == "__main__":
    main()
