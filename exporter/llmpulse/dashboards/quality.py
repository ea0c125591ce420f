"""Quality and safety: scores by evaluation, model and prompt version; pass/fail;
feedback; guardrails; finish reasons.

>>> build(load_thresholds(None)).uid
'llmpulse-quality'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql
from llmpulse.dashboards.panels import AMBER, BLUE, GREEN, RED, Grid, stat, steps, target, timeseries
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds
from llmpulse.dashboards.variables import SELECTOR, SELECTOR_SERVICE_MODEL

SCORE = "service_model:llm_eval_score:avg_rate5m"
RESULTS = "llm_eval_results_total"
SEL = SELECTOR_SERVICE_MODEL


PASS_LABEL_REGEX = "(?i)pass(ed)?"


def quote(text: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def failed(t: Thresholds, selector: str = SEL) -> str:
    return f"{selector}, gen_ai_evaluation_score_label=~{quote(t.safety_fail_label_regex)}"


def safety_selector(t: Thresholds) -> str:
    return f"{failed(t)}, gen_ai_evaluation_name=~{quote(t.safety_evaluation_regex)}"


def now_tiles(t: Thresholds) -> list[core.Panel]:
    return [
        stat(
            "Mean evaluation score",
            "Mean score over all evaluations (0 to 1, higher is better), 5 m recording rule.",
            "percentunit",
            [target(f"avg({SCORE}{{{SEL}}} >= 0)", "score")],
            thresholds=steps((BLUE, None)),
        ),
        stat(
            "Evaluation pass ratio",
            "Share of evaluation results labelled pass/passed among all evaluation results.",
            "percentunit",
            [
                target(
                    f"({promql.rate(RESULTS, SEL + ', gen_ai_evaluation_score_label=~' + quote(PASS_LABEL_REGEX))} or vector(0)) / "
                    f"{promql.rate(RESULTS, SEL)}",
                    "pass ratio",
                )
            ],
            thresholds=steps((BLUE, None)),
        ),
        stat(
            "Negative feedback ratio",
            "Share of user feedback that was negative over the rate window.",
            "percentunit",
            [
                target(
                    f"({promql.rate('llm_feedback_total', promql.match(SEL, feedback='negative'))} or vector(0)) / "
                    f"{promql.rate('llm_feedback_total', SEL)}",
                    "negative",
                )
            ],
            thresholds=steps((BLUE, None)),
        ),
        stat(
            "Safety evaluation failures / s",
            "Failed safety evaluations per second (evaluation names matching the safety regex, "
            "label `fail`). Anything above 0 is red: LLMSafetyEvaluationFailed.",
            "ops",
            [target(f"{promql.rate(RESULTS, safety_selector(t))} or vector(0)", "failures/s")],
            thresholds=steps((GREEN, None), (RED, 0.000001)),
        ),
    ]


def score_panels() -> list[core.Panel]:
    deployment = (
        # one row per (service, model, prompt version), however many replicas and operations report it
        f"group by (job, service_name, gen_ai_request_model, prompt_version) (llm_deployment_info{{{SEL}}}) "
        f"* on (job, service_name, gen_ai_request_model) group_left () "
        f"avg by (job, service_name, gen_ai_request_model) ({SCORE}{{{SEL}}} >= 0)"
    )
    return [
        timeseries(
            "Score by evaluation",
            "Mean score per evaluation name (5 m recording rule). Compare lines, not absolute "
            "levels: each evaluator has its own scale of 'good'.",
            "percentunit",
            [target(f"avg by (gen_ai_evaluation_name) ({SCORE}{{{SEL}}} >= 0)", "{{gen_ai_evaluation_name}}")],
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Score by model",
            "Mean score over all evaluations per model: a model swap that lowers quality shows here.",
            "percentunit",
            [target(f"avg by (gen_ai_request_model) ({SCORE}{{{SEL}}} >= 0)", "{{gen_ai_request_model}}")],
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Score by prompt version",
            "Mean score per live prompt version (scores joined to llm_deployment_info on service "
            "and model). A new prompt version with a lower line is a regression.",
            "percentunit",
            [target(f"avg by (service_name, prompt_version) ({deployment})", "{{service_name}} prompt {{prompt_version}}")],
            minimum=0,
            maximum=1,
        ),
    ]


def pass_fail_panels(t: Thresholds) -> list[core.Panel]:
    return [
        timeseries(
            "Evaluation results by label",
            "Evaluation results per second by evaluation and result label (pass, fail, or the "
            "evaluator's own labels), stacked.",
            "ops",
            [
                target(
                    promql.rate(RESULTS, SEL, by="gen_ai_evaluation_name, gen_ai_evaluation_score_label"),
                    "{{gen_ai_evaluation_name}} {{gen_ai_evaluation_score_label}}",
                )
            ],
            stack=True,
        ),
        timeseries(
            "Failure ratio by evaluation",
            "Share of results labelled fail/failed/failure per evaluation.",
            "percentunit",
            [
                target(
                    f"({promql.rate(RESULTS, failed(t), by='gen_ai_evaluation_name')}"
                    f" or {promql.rate(RESULTS, SEL, by='gen_ai_evaluation_name')} * 0) / "
                    f"{promql.rate(RESULTS, SEL, by='gen_ai_evaluation_name')}",
                    "{{gen_ai_evaluation_name}}",
                )
            ],
            minimum=0,
        ),
    ]


def safety_panels(t: Thresholds) -> list[core.Panel]:
    return [
        timeseries(
            "Feedback by polarity",
            "User feedback per second, positive and negative, stacked.",
            "ops",
            [target(promql.rate("llm_feedback_total", SEL, by="feedback"), "{{feedback}}")],
            stack=True,
        ),
        timeseries(
            "Safety evaluation failures",
            "Failed safety evaluations per second by evaluation name (safety, toxicity, PII, "
            "jailbreak ... as matched by the safety regex).",
            "ops",
            [target(promql.rate(RESULTS, safety_selector(t), by="gen_ai_evaluation_name"), "{{gen_ai_evaluation_name}}")],
            thresholds=steps((GREEN, None), (AMBER, 0.000001)),
        ),
        timeseries(
            "Guardrail triggers and refusals",
            "Guardrail interventions and model refusals per second by service. A jump after a "
            "deployment usually means a prompt change.",
            "ops",
            [
                target(promql.rate("llm_guardrail_triggers_total", SELECTOR, by="service_name"), "{{service_name}} guardrail"),
                target(promql.rate("llm_refusals_total", SELECTOR, by="service_name"), "{{service_name}} refusal"),
            ],
        ),
        timeseries(
            "Finish reasons",
            "Share of responses by finish reason: `length` is truncation by the token limit, "
            "`content_filter` a provider block, `error` a failed generation.",
            "percentunit",
            [
                target(
                    f"{promql.rate('llm_finish_reasons_total', SELECTOR, by='gen_ai_response_finish_reason')} / "
                    f"scalar({promql.rate('llm_finish_reasons_total', SELECTOR)})",
                    "{{gen_ai_response_finish_reason}}",
                )
            ],
            stack=True,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Quality now")
    for tile in now_tiles(t):
        grid.add(tile, w=6, h=4)
    grid.row("Scores")
    for item in score_panels():
        grid.add(item, w=8, h=8)
    grid.row("Pass / fail")
    for item in pass_fail_panels(t):
        grid.add(item, w=12, h=8)
    grid.row("Feedback, safety and finish reasons")
    for item in safety_panels(t):
        grid.add(item, w=6, h=8)
    return base.make_dashboard(
        base.UIDS["quality"],
        "Quality and safety",
        "Are answers still good and safe? Evaluation scores, pass/fail, feedback, guardrails, finish reasons.",
        grid.panels,
        annotations=[base.FIRING_ALERTS_ANNOTATION, base.DEPLOYMENT_ANNOTATION],
    )


__all__ = ["build", "load_thresholds"]
