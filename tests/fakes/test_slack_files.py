"""The stand-in's files API is as strict as Slack documents it (three steps, once)."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import SlackStub


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_files_upload_v2_shares_the_bytes_in_the_thread(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    parent = await slack_client.chat_postMessage(channel="C0OPS", text="proposal")
    answer = await slack_client.files_upload_v2(
        file_uploads=[{"content": "# hello\n", "filename": "a.md", "title": "A"}],
        channel="C0OPS",
        thread_ts=parent["ts"],
        initial_comment="here",
    )
    assert answer["file"]["title"] == "A"
    (stored,) = slack_stub.shared_files("C0OPS", parent["ts"])
    assert (stored.filename, stored.text, stored.length) == ("a.md", "# hello\n", 8)
    (reply,) = slack_stub.thread("C0OPS", parent["ts"])[1:]
    assert reply.text == "here" and reply.files and reply.files[0]["name"] == "a.md"


async def test_documented_errors_for_bad_arguments(slack_client: AsyncWebClient) -> None:
    assert await error_of(slack_client.files_getUploadURLExternal(filename="", length=3)) == (
        "invalid_arguments"
    )
    assert await error_of(slack_client.files_getUploadURLExternal(filename="a", length=0)) == (
        "missing_argument"
    )
    assert await error_of(
        slack_client.files_getUploadURLExternal(filename="a", length=3, alt_txt="x" * 1001)
    ) == ("alt_txt_too_large")
    assert await error_of(slack_client.files_completeUploadExternal(files=[])) == (
        "invalid_arguments"
    )


async def test_a_file_is_shared_once_and_only_with_the_announced_bytes(
    slack_stub: SlackStub, slack_client: AsyncWebClient
) -> None:
    reserved = await slack_client.files_getUploadURLExternal(filename="a.txt", length=5)
    file_id, url = reserved["file_id"], reserved["upload_url"]
    never_sent = [{"id": file_id, "title": "a"}]
    assert await error_of(slack_client.files_completeUploadExternal(files=never_sent)) == (
        "file_not_found"
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b"1234") as answer:  # one byte short
            assert answer.status == 200
        assert await error_of(slack_client.files_completeUploadExternal(files=never_sent)) == (
            "file_not_found"
        )
        async with session.post(url, data=b"12345") as answer:
            assert answer.status == 200
        done = await slack_client.files_completeUploadExternal(files=never_sent, channel_id="C0OPS")
        assert done["files"] == [{"id": file_id, "title": "a"}]
        assert await error_of(slack_client.files_completeUploadExternal(files=never_sent)) == (
            "file_not_found"
        )
        async with session.post(url, data=b"12345") as answer:
            assert answer.status == 404
        async with session.post(url.rsplit("/", 1)[0] + "/F999", data=b"x") as answer:
            assert answer.status == 404
    assert [f.id for f in slack_stub.shared_files("C0OPS")] == [file_id]
