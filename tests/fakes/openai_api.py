"""OpenAI-compatible responses: chat completions (plain, streamed, tool calls), the Responses API, embeddings.

Each handler takes the parsed request body and a `Served` record to fill in, and
returns a `Reply` (JSON body or a list of SSE events). Rules: `rules.py`.
"""

from __future__ import annotations

import json

from . import rules
from .served import Reply, Served

ERRORS = {
    500: {"message": "The server had an error while processing your request. Sorry about that!",
          "type": "server_error", "param": None, "code": None},
    429: {"message": "Rate limit reached for requests. Please try again in 1s.",
          "type": "requests", "param": None, "code": "rate_limit_exceeded"},
    529: {"message": "The engine is currently overloaded, please try again later.",
          "type": "server_error", "param": None, "code": "overloaded"},
}
CREATED = 1767225600                      # 2026-01-01T00:00:00Z, every response


def _error(status: int, served: Served) -> Reply:
    served.fail(status, ERRORS[status]["type"])
    return Reply.json({"error": ERRORS[status]}, status)


def _tools(body: dict) -> list[dict]:
    """Tool definitions as (name, schema), chat-completions or Responses shape."""
    out = []
    for t in body.get("tools") or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        if fn.get("name"):
            out.append({"name": fn["name"], "schema": fn.get("parameters")})
    return out


def _count_input(texts: list[str], n_messages: int, n_tools: int) -> int:
    return sum(rules.count_words(t) for t in texts) + 4 * n_messages + 16 * n_tools


def _usage_parts(served: Served, text: str, input_tokens: int, model: str):
    cache_read, _ = rules.cache_tokens(text, input_tokens)
    reasoning = rules.REASONING_TOKENS if rules.is_reasoning_model(model) else 0
    served.tokens(input=input_tokens, cache_read=cache_read, reasoning=reasoning)
    return cache_read, reasoning


# ---- chat completions

def chat(body: dict, served: Served) -> Reply:
    model = body.get("model", "")
    messages = body.get("messages") or []
    texts = rules.texts_of(messages)
    text = " ".join(texts)
    served.start("openai", "openai.chat", model, stream=bool(body.get("stream")), operation="chat")
    if (status := rules.failure_status(text)) is not None:
        return _error(status, served)
    tools = _tools(body)
    input_tokens = _count_input(texts, len(messages), len(tools))
    cache_read, reasoning = _usage_parts(served, text, input_tokens, model)
    last_role = messages[-1].get("role") if messages else "user"
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    rid = served.make_id("chatcmpl-fake")
    if tools and last_role == "user":
        args = rules.tool_arguments(tools[0]["schema"])
        output = rules.tool_call_output_tokens(args)
        call = {"id": f"call_fake{served.seq:04d}", "type": "function",
                "function": {"name": tools[0]["name"], "arguments": json.dumps(args)}}
        message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        served.tool_calls = 1
    else:
        words, cut = rules.reply_words(input_tokens, max_tokens)
        output = len(words)
        message, finish = {"role": "assistant", "content": " ".join(words), "refusal": None}, ("length" if cut else "stop")
    output += reasoning
    served.done(finish, output=output)
    usage = {"prompt_tokens": input_tokens, "completion_tokens": output, "total_tokens": input_tokens + output,
             "prompt_tokens_details": {"cached_tokens": cache_read, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                           "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
    base = {"id": rid, "created": CREATED, "model": model, "system_fingerprint": "fp_fake", "service_tier": "default"}
    if not body.get("stream"):
        return Reply.json({**base, "object": "chat.completion", "usage": usage,
                           "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}]})
    chunk = {**base, "object": "chat.completion.chunk"}
    events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        events.append({**chunk, "choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
            {"index": 0, "id": call["id"], "type": "function",
             "function": {"name": call["function"]["name"], "arguments": ""}}]}}]})
        events.append({**chunk, "choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": call["function"]["arguments"]}}]}}]})
    else:
        for i, w in enumerate(message["content"].split()):
            events.append({**chunk, "choices": [{"index": 0, "delta": {"content": (" " if i else "") + w},
                                                 "finish_reason": None}]})
    events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**chunk, "choices": [], "usage": usage})
    return Reply.sse([(None, e) for e in events] + [(None, "[DONE]")])


# ---- embeddings

def embeddings(body: dict, served: Served) -> Reply:
    model = body.get("model", "")
    inputs = body.get("input")
    inputs = [inputs] if isinstance(inputs, (str, int)) or (isinstance(inputs, list) and inputs
                                                           and isinstance(inputs[0], int)) else (inputs or [])
    served.start("openai", "openai.embeddings", model, stream=False, operation="embeddings")
    text = " ".join(x for x in inputs if isinstance(x, str))
    if (status := rules.failure_status(text)) is not None:
        return _error(status, served)
    tokens = sum(max(1, rules.count_words(x)) if isinstance(x, str) else max(1, len(x)) for x in inputs)
    served.tokens(input=tokens)
    served.done(None, output=0)
    dims = int(body.get("dimensions") or 8)
    data = []
    for i, _x in enumerate(inputs):
        vec = [round(((i + 1) * (j + 1) % 17) / 17.0, 4) for j in range(dims)]
        if body.get("encoding_format") == "base64":
            import base64
            import struct
            vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vec})
    return Reply.json({"object": "list", "data": data, "model": model,
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


# ---- Responses API

def _responses_input(body: dict) -> tuple[list[str], int, str]:
    """(texts, message count, role of the last item)."""
    items = body.get("input")
    texts = rules.texts_of(body.get("instructions") or "", "instructions")
    if isinstance(items, str):
        return texts + [items], 1, "user"
    items = items or []
    texts += rules.texts_of(items)
    last = items[-1] if items else {}
    last_kind = last.get("type") or "message"
    return texts, len(items), ("tool" if last_kind == "function_call_output" else last.get("role", "user"))


def responses(body: dict, served: Served) -> Reply:
    model = body.get("model", "")
    stream = bool(body.get("stream"))
    served.start("openai", "openai.responses", model, stream=stream, operation="chat")
    texts, n_items, last_role = _responses_input(body)
    text = " ".join(texts)
    if (status := rules.failure_status(text)) is not None:
        return _error(status, served)
    tools = _tools(body)
    input_tokens = _count_input(texts, n_items, len(tools))
    cache_read, reasoning = _usage_parts(served, text, input_tokens, model)
    rid = served.make_id("resp_fake")
    max_tokens = body.get("max_output_tokens")
    status, incomplete = "completed", None
    if tools and last_role == "user":
        args = rules.tool_arguments(tools[0]["schema"])
        output = rules.tool_call_output_tokens(args)
        item = {"type": "function_call", "id": f"fc_fake{served.seq:04d}", "call_id": f"call_fake{served.seq:04d}",
                "name": tools[0]["name"], "arguments": json.dumps(args), "status": "completed"}
        finish = "tool_calls"
        served.tool_calls = 1
    else:
        words, cut = rules.reply_words(input_tokens, max_tokens)
        output = len(words)
        item = {"type": "message", "id": f"msg_fake{served.seq:04d}", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": " ".join(words), "annotations": [], "logprobs": []}]}
        finish = "length" if cut else "stop"
        if cut:
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
    output += reasoning
    served.done(finish, output=output)
    usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cache_read},
             "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
             "total_tokens": input_tokens + output}
    resp = {"id": rid, "object": "response", "created_at": CREATED, "status": status, "error": None,
            "incomplete_details": incomplete, "instructions": body.get("instructions"), "model": model,
            "output": [item], "parallel_tool_calls": True, "temperature": body.get("temperature", 1.0),
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0), "max_output_tokens": max_tokens, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "store": True, "text": {"format": {"type": "text"}},
            "truncation": "disabled", "usage": usage, "metadata": {}, "service_tier": "default"}
    if not stream:
        return Reply.json(resp)
    pending = {**resp, "status": "in_progress", "output": [], "usage": None}
    events = [("response.created", {"response": pending}), ("response.in_progress", {"response": pending})]
    if item["type"] == "function_call":
        events += [("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": "",
                                                                              "status": "in_progress"}}),
                   ("response.function_call_arguments.delta", {"output_index": 0, "item_id": item["id"],
                                                               "delta": item["arguments"]}),
                   ("response.function_call_arguments.done", {"output_index": 0, "item_id": item["id"],
                                                              "arguments": item["arguments"]})]
    else:
        part = item["content"][0]
        events += [("response.output_item.added", {"output_index": 0, "item": {**item, "content": [],
                                                                              "status": "in_progress"}}),
                   ("response.content_part.added", {"output_index": 0, "content_index": 0, "item_id": item["id"],
                                                    "part": {**part, "text": ""}})]
        for i, w in enumerate(part["text"].split()):
            events.append(("response.output_text.delta", {"output_index": 0, "content_index": 0, "item_id": item["id"],
                                                          "delta": (" " if i else "") + w, "logprobs": []}))
        events += [("response.output_text.done", {"output_index": 0, "content_index": 0, "item_id": item["id"],
                                                  "text": part["text"], "logprobs": []}),
                   ("response.content_part.done", {"output_index": 0, "content_index": 0, "item_id": item["id"],
                                                   "part": part})]
    events += [("response.output_item.done", {"output_index": 0, "item": item}),
               ("response.completed" if status == "completed" else "response.incomplete", {"response": resp})]
    return Reply.sse([(name, {"type": name, "sequence_number": i, **data}) for i, (name, data) in enumerate(events)])


def models(body: dict, served: Served) -> Reply:
    return Reply.json({"object": "list", "data": [{"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
                                                  for m in ("gpt-4o-mini", "o4-mini", "text-embedding-3-small")]})
