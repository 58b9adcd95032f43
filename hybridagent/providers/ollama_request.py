"""Agents SDK requests in the shapes of Ollama's /api/chat (docs/api.md, 'Generate a chat
completion'): messages, tools, the response format, and a `num_ctx` that fits the call.
"""

from __future__ import annotations

import json
from typing import Any

from agents import FunctionTool, Handoff, Tool, TResponseInputItem, UserError

# Prompt tokens are estimated, not counted (no tokenizer here): three characters a token
# errs on the large side for English, JSON and code alike.
CHARS_PER_TOKEN = 3
# Room kept for the answer when the agent sets no max_tokens.
REPLY_RESERVE_TOKENS = 1024
# What an image costs in the prompt, whatever the length of its base64 text.
IMAGE_TOKENS = 768


def context_size(prompt_chars: int, reply_tokens: int, *, floor: int, ceiling: int | None) -> int:
    """The `num_ctx` for a request: `floor` doubled until prompt and reply fit, capped at
    `ceiling` (the model's trained context, when known).

    Powers of two, not the exact need, because Ollama reloads the model whenever
    `num_ctx` changes: a growing conversation reloads a few times, not on every turn.
    """
    needed = prompt_chars // CHARS_PER_TOKEN + 1 + reply_tokens
    size = floor
    while size < needed:
        size *= 2
    return size if ceiling is None else min(size, ceiling)


def prompt_chars(body: dict[str, Any]) -> int:
    """The request's length in characters, an image counted at IMAGE_TOKENS, not its base64."""
    images = [image for message in body["messages"] for image in message.get("images", [])]
    chars = len(json.dumps(body)) - sum(len(image) for image in images)
    return chars + len(images) * IMAGE_TOKENS * CHARS_PER_TOKEN


def _text_and_images(content: Any) -> tuple[str, list[str]]:
    """A Responses content (a string or a list of parts) as Ollama's text and images."""
    if content is None or isinstance(content, str):
        return content or "", []
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            texts.append(part["text"])
        elif kind == "refusal":
            texts.append(part["refusal"])
        elif kind == "input_image" and str(part.get("image_url", "")).startswith("data:"):
            images.append(str(part["image_url"]).split(",", 1)[1])
        else:
            raise UserError(
                f"Ollama's /api/chat takes text and base64 data-URL images, not {kind!r} parts."
            )
    return "".join(texts), images


def _open_assistant(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant message a reasoning item, text or tool call belongs to: the Responses
    format splits one assistant turn into several items, Ollama wants one message."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[-1]
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    messages.append(message)
    return message


def to_messages(
    system_instructions: str | None, input: str | list[TResponseInputItem]
) -> list[dict[str, Any]]:
    """Agents SDK input items as the `messages` of docs/api.md's chat examples: tool calls
    on the assistant message with arguments as an object, results as `tool` messages
    naming the tool (`tool_name`), thinking on the assistant message it preceded."""
    messages: list[dict[str, Any]] = []
    if system_instructions:
        messages.append({"role": "system", "content": system_instructions})
    if isinstance(input, str):
        return [*messages, {"role": "user", "content": input}]
    tool_names: dict[str, str] = {}
    for raw in input:
        item: dict[str, Any] = dict(raw)
        kind = item.get("type")
        if kind == "function_call":
            tool_names[item["call_id"]] = item["name"]
            arguments = json.loads(item.get("arguments") or "{}")
            call = {"function": {"name": item["name"], "arguments": arguments}}
            _open_assistant(messages).setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            output = item["output"]
            text = output if isinstance(output, str) else _text_and_images(output)[0]
            result = {"role": "tool", "content": text}
            if item["call_id"] in tool_names:
                result["tool_name"] = tool_names[item["call_id"]]
            messages.append(result)
        elif kind == "reasoning":
            parts = item.get("content") or item.get("summary") or []
            thinking = "".join(str(part.get("text", "")) for part in parts)
            if thinking:
                _open_assistant(messages)["thinking"] = thinking
        elif kind in (None, "message") and "role" in item:
            text, images = _text_and_images(item.get("content"))
            if item["role"] == "assistant":
                _open_assistant(messages)["content"] += text
                continue
            role = "system" if item["role"] == "developer" else item["role"]
            message: dict[str, Any] = {"role": role, "content": text}
            if images:
                message["images"] = images
            messages.append(message)
        else:
            raise UserError(f"Ollama's /api/chat cannot take {kind!r} input items.")
    return messages


def to_tools(tools: list[Tool], handoffs: list[Handoff[Any, Any]]) -> list[dict[str, Any]]:
    """Function tools and handoffs in the shape of docs/api.md's 'Chat request (with tools)'."""
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for tool in tools:
        if not isinstance(tool, FunctionTool):
            raise UserError(f"Ollama runs function tools only, not {type(tool).__name__}.")
        specs.append((tool.name, tool.description, tool.params_json_schema))
    for handoff in handoffs:
        specs.append((handoff.tool_name, handoff.tool_description, handoff.input_json_schema))
    return [
        {"type": "function", "function": {"name": n, "description": d, "parameters": p}}
        for n, d, p in specs
    ]


def schema_of(response_format: Any) -> Any:
    """The JSON schema of an OpenAI (`json_schema`) or llama.cpp (`schema`) response_format,
    so tool-call emulation, which sets one in extra_body, works over /api/chat too."""
    if not isinstance(response_format, dict):
        return None
    if isinstance(response_format.get("json_schema"), dict):
        return response_format["json_schema"].get("schema")
    if response_format.get("schema") is not None:
        return response_format["schema"]
    return "json" if response_format.get("type") == "json_object" else None
