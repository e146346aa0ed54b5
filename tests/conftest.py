"""Shared fixtures; every test also checks that the bot made no write that blocks the event
loop on SQLite's lock (issue 15, item 5: ``storage.db.write_async`` is the only way)."""

from collections.abc import Iterator

import pytest

from storage import LOOP_WRITES

pytest_plugins = ["tests.fakes.slack", "tests.fakes.bot"]


@pytest.fixture(autouse=True)
def no_write_blocks_the_loop() -> Iterator[None]:
    before = LOOP_WRITES.count
    yield
    assert LOOP_WRITES.count == before, (
        f"{LOOP_WRITES.count - before} write(s) took SQLite's lock on the event loop, last at "
        f"{LOOP_WRITES.last}; use ctx.write / storage.write_async"
    )
