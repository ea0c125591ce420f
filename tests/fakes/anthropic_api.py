"""Anthropic-compatible Messages API: plain, streamed (SSE), tool_use, errors. Rules: `rules.py`.

As the real API does, `usage.input_tokens` excludes the cache reads and writes,
and a stream's `message_start` reports `output_tokens: 1` before `message_delta`
reports the final count.
"""

from __future__ import annotations

from . import rules
from .served import Reply, Served

ERRORS = {500: "api_error", 429: "rate_limit_error", 529: "overloaded_error"}
MESSAGES = {500: "Internal server error", 429: "Number of request tokens has exceeded your per-minute rate limit",
            529: "Overloaded"}


def messages(body: dict, served: Served) -> Reply:
    model = body.get("model", "")
    msgs = body.get("messages") or []
    texts = rules.texts_of(body.get("system") or "", "system") + rules.texts_of(msgs)
    text = " ".join(texts)
    stream = bool(body.get("stream"))
    served.start("anthropic", "anthropic.messages", model, stream=stream, operation="chat")
    if (status := rules.failure_status(text)) is not None:
        served.fail(status, ERRORS[status])
        return Reply.json({"type": "error", "error": {"type": ERRORS[status], "message": MESSAGES[status]},
                           "request_id": f"req_fake{served.seq:04d}"}, status)
    tools = [t for t in body.get("tools") or [] if t.get("name")]
    input_tokens = sum(rules.count_words(t) for t in texts) + 4 * len(msgs) + 16 * len(tools)
    cache_read, cache_write = rules.cache_tokens(text, input_tokens)
    served.tokens(input=input_tokens, cache_read=cache_read, cache_write=cache_write)
    rid = served.make_id("msg_fake")
    last = msgs[-1] if msgs else {"role": "user", "content": ""}
    last_is_tool_result = isinstance(last.get("content"), list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"])
    if tools and last.get("role") == "user" and not last_is_tool_result:
        args = rules.tool_arguments(tools[0].get("input_schema"))
        output = rules.tool_call_output_tokens(args)
        block = {"type": "tool_use", "id": f"toolu_fake{served.seq:04d}", "name": tools[0]["name"], "input": args}
        stop = "tool_use"
        served.tool_calls = 1
    else:
        words, cut = rules.reply_words(input_tokens, body.get("max_tokens"))
        output = len(words)
        block = {"type": "text", "text": " ".join(words)}
        stop = "max_tokens" if cut else "end_turn"
    served.done(stop, output=output)
    usage = {"input_tokens": input_tokens - cache_read - cache_write, "output_tokens": output,
             "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
             "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
             "service_tier": "standard"}
    msg = {"id": rid, "type": "message", "role": "assistant", "model": model, "content": [block],
           "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not stream:
        return Reply.json(msg)
    start = {**msg, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [("message_start", {"type": "message_start", "message": start})]
    if block["type"] == "tool_use":
        import json
        events += [("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {**block, "input": {}}}),
                   ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta",
                                                      "partial_json": json.dumps(block["input"])}})]
    else:
        events.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}}))
        for i, w in enumerate(block["text"].split()):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": (" " if i else "") + w}}))
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                  "usage": {"output_tokens": output}}),
               ("message_stop", {"type": "message_stop"})]
    return Reply.sse(events)
