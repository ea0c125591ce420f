"""The fake providers' deterministic rules: what a request costs and what it gets back.

Every figure a fake response carries is a function of the request body alone
(plus a per-server sequence number for ids), so a scenario run twice gets the
same responses, and expected figures can be derived from the fakes' own log.

Tokens
  * input  = the words (runs of non-space) in every text of the request
             (system/instructions, message contents, tool-call arguments, tool
             results) + 4 per message + 16 per tool definition.
             Embeddings: the words of each input (at least 1 each).
  * cache_read  = input - 8 when the request text contains ``#cached``.
  * cache_write = input - 8 when it contains ``#cache_write`` (Anthropic only).
    OpenAI reports cached tokens inside ``prompt_tokens``; Anthropic reports
    ``input_tokens`` *without* them, as the real APIs do. ``input`` here is
    always the total prompt, cache included (the OTel definition).
  * reply  = the first K words of ``WORDS`` with K = 3 + input % 5, cut to
    ``max_tokens`` (finish ``length``/``max_tokens``); output = K.
  * reasoning = 8 for OpenAI reasoning models (``o1``, ``o3``, ``o4-mini`` ...),
    added to output.
  * a tool call: output = 8 + the words of its JSON arguments.

Behaviour
  * ``#fail:500``, ``#fail:429``, ``#fail:529`` anywhere in the request text:
    that status with the provider's error body (no tokens, not billed).
  * tools offered and the last message is the user's (no tool result yet):
    call the first tool, arguments made from its JSON schema
    (``"Paris"`` for strings, 1 for numbers, true for booleans);
    finish ``tool_calls`` / ``tool_use``.
  * otherwise a text reply, finish ``stop`` / ``end_turn``.

>>> count_words("Hello, world  again")
3
>>> reply_words(12, None)
(['alpha', 'bravo', 'charlie', 'delta', 'echo'], False)
"""

from __future__ import annotations

import json
import re

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november "
         "oscar papa quebec romeo sierra tango").split()
REASONING_TOKENS = 8
CACHE_UNCACHED = 8             # the uncached tail of a #cached prompt
CONTENT_KEYS = frozenset({"text", "content", "arguments", "input", "output", "thinking",
                          "instructions", "system"})
FAIL = re.compile(r"#fail:(\d{3})")
REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")


def count_words(text: str) -> int:
    return len(text.split())


def texts_of(value, key: str = "content") -> list[str]:
    """The content strings in a JSON-like value: strings under a content key (text, content, arguments,
    input, output, thinking, instructions, system), searched through every nested list and dict."""
    out: list[str] = []
    if isinstance(value, str):
        if key in CONTENT_KEYS:
            out.append(value)
    elif isinstance(value, list):
        for v in value:
            out.extend(texts_of(v, key))
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("input", "arguments") and isinstance(v, dict):   # Anthropic tool_use input
                out.append(json.dumps(v, sort_keys=True))
            else:
                out.extend(texts_of(v, k))
    return out


def reply_words(input_tokens: int, max_tokens: int | None) -> tuple[list[str], bool]:
    """The reply's words and whether it was cut by max_tokens."""
    k = 3 + input_tokens % 5
    if max_tokens is not None and max_tokens < k:
        return WORDS[:max_tokens], True
    return WORDS[:k], False


def tool_arguments(schema: dict | None) -> dict:
    schema = schema or {}
    props = schema.get("properties") or {}
    required = schema.get("required") or list(props)
    args = {}
    for name in required:
        typ = (props.get(name) or {}).get("type", "string")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "string")
        args[name] = {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(typ, "Paris")
    return args


def tool_call_output_tokens(arguments: dict) -> int:
    return 8 + count_words(json.dumps(arguments, sort_keys=True))


def failure_status(text: str) -> int | None:
    m = FAIL.search(text)
    return int(m.group(1)) if m else None


def cache_tokens(text: str, input_tokens: int) -> tuple[int, int]:
    """(cache_read, cache_write) for a prompt of input_tokens whose text is `text`."""
    cached = max(0, input_tokens - CACHE_UNCACHED)
    if "#cache_write" in text:
        return 0, cached
    if "#cached" in text:
        return cached, 0
    return 0, 0


def is_reasoning_model(model: str) -> bool:
    return bool(REASONING_MODEL.match(model or ""))
