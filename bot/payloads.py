"""Slack payloads parsed at the edge into typed models; nothing past the listener indexes dicts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CommandPayload(_Loose):
    user_id: str
    channel_id: str
    text: str = ""
    trigger_id: str | None = None
    command: str = ""


class SlackUser(_Loose):
    id: str


class SlackChannel(_Loose):
    id: str


class ActionItem(_Loose):
    action_id: str
    value: str = ""
    action_ts: str = ""


class SlackMessage(_Loose):
    ts: str
    thread_ts: str | None = None


class ActionPayload(_Loose):
    user: SlackUser
    channel: SlackChannel | None = None
    actions: list[ActionItem] = Field(min_length=1)
    trigger_id: str | None = None
    message: SlackMessage | None = None

    @property
    def channel_id(self) -> str:
        """Where the click happened ("" for a click in a modal)."""
        return self.channel.id if self.channel else ""

    @property
    def action(self) -> ActionItem:
        return self.actions[0]

    @property
    def window_id(self) -> int | None:
        head = self.action.value.split(":", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def slack_action(self) -> str:
        return f"{self.action.action_id}@{self.action.action_ts}"

    @property
    def thread_ts(self) -> str | None:
        """The thread the clicked message is a reply in; None for a message in the channel
        itself (a thread's parent included). An answer to the click goes where it was."""
        message = self.message
        if message is None or not message.thread_ts or message.thread_ts == message.ts:
            return None
        return message.thread_ts


class ViewState(_Loose):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class SubmittedView(_Loose):
    id: str = ""
    callback_id: str
    private_metadata: str = ""
    state: ViewState = Field(default_factory=ViewState)

    def value(self, block_id: str, action_id: str) -> str | None:
        """The typed, picked or selected value of one input, or None when left empty."""
        element = self.state.values.get(block_id, {}).get(action_id, {})
        for key in ("value", "selected_date", "selected_time"):
            if element.get(key):
                return str(element[key])
        option = element.get("selected_option") or {}
        return str(option["value"]) if option.get("value") else None


class ViewPayload(_Loose):
    user: SlackUser
    view: SubmittedView


def value_ids(value: str) -> list[int]:
    """The numbers in a button's value: ``"12:3"`` is window 12, step 3."""
    return [int(part) for part in value.split(":") if part.isdigit()]


def value_window_and_key(value: str) -> tuple[int, str]:
    """A button value ``"<window>:<key>"``: ``"12:backup"`` is window 12, item backup."""
    head, _, tail = value.partition(":")
    return (int(head) if head.isdigit() else 0), tail
