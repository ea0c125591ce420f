"""Expected figures for a capture, derived from the fakes' response log only (never from llmpulse).

>>> log = [{"provider": "openai", "model": "m", "operation": "chat", "status": 200, "input": 10, "output": 5,
...         "cache_read": 2, "cache_write": 0, "reasoning": 0, "finish": "stop", "stream": True, "cause": "",
...         "request_sha256": "a", "api": "openai.chat"},
...        {"provider": "openai", "model": "m", "operation": "chat", "status": 500, "input": 0, "output": 0,
...         "cache_read": 0, "cache_write": 0, "reasoning": 0, "finish": "", "stream": False,
...         "cause": "server_error", "request_sha256": "b", "api": "openai.chat"}]
>>> e = expected_figures(log, "svc")
>>> e["models"][0]["calls"], e["models"][0]["errors"], e["totals"]["tokens"]["input"]
(1, {'server_error': 1}, 10)

Rules:
  * a billed call is a 200 response; its tokens and finish reason count once;
  * a failed call is counted once per distinct request body (an SDK retry resends
    the same body, and the app still made one call), under its cause;
  * keys: (service, provider, request model, operation).
"""

from __future__ import annotations

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")


def expected_figures(records: list[dict], service: str) -> dict:
    groups: dict[tuple, dict] = {}
    failed_seen: set[tuple] = set()
    for r in records:
        key = (service, r["provider"], r["model"], r["operation"])
        g = groups.setdefault(key, {"service": service, "provider": r["provider"], "model": r["model"],
                                    "operation": r["operation"], "calls": 0, "streamed_calls": 0,
                                    "errors": {}, "tokens": dict.fromkeys(TOKEN_TYPES, 0), "finish_reasons": {},
                                    "response_ids": []})
        if r["status"] == 200:
            g["calls"] += 1
            g["streamed_calls"] += bool(r["stream"])
            for t in TOKEN_TYPES:
                g["tokens"][t] += r[t]
            if r["finish"]:
                g["finish_reasons"][r["finish"]] = g["finish_reasons"].get(r["finish"], 0) + 1
            if r.get("response_id"):
                g["response_ids"].append(r["response_id"])
        else:
            if (key, r["request_sha256"]) in failed_seen:
                continue
            failed_seen.add((key, r["request_sha256"]))
            g["errors"][r["cause"]] = g["errors"].get(r["cause"], 0) + 1
    models = sorted(groups.values(), key=lambda g: (g["provider"], g["model"], g["operation"]))
    totals = {"calls": sum(g["calls"] for g in models),
              "errors": sum(sum(g["errors"].values()) for g in models),
              "tokens": {t: sum(g["tokens"][t] for g in models) for t in TOKEN_TYPES}}
    return {"service": service, "models": models, "totals": totals,
            "responses_served": len(records)}
