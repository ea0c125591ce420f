"""Typed loader for alerts/thresholds.yaml: the knobs every alert reads.

The packaged file holds the defaults; a user file overrides any subset of
them. Unknown keys and values of the wrong type are errors that name their
path, and every error is reported at once:

    >>> th = load_thresholds()
    >>> th.LLMErrorRatioHighCriticalThreshold
    0.05
    >>> try:
    ...     load_thresholds(overrides={"LLMErrorRatioHighCriticalTreshold": 1})
    ... except ThresholdsError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    <overrides>: LLMErrorRatioHighCriticalTreshold: unknown key (did you mean LLMErrorRatioHighCriticalThreshold? known: ...)

The loading is `llmpulse.typed`'s, as for the exporter config and the price files: one error format.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Sequence

import yaml

from llmpulse import typed
from llmpulse.typed import Check

from llmpulse.paths import ALERTS_DIR

DEFAULT_PATH = ALERTS_DIR / "thresholds.yaml"

_DURATION = re.compile(r"^(0|[0-9]+(ms|s|m|h|d|w|y))$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


# Bucket bounds shared by vllm:time_to_first_token_seconds (vLLM 0.11.0) and
# sglang:time_to_first_token_seconds (SGLang 0.5.3): see llmpulse.demo.engines.
ENGINE_TTFT_BOUNDS = (0.1, 1.0, 10.0, 20.0, 40.0, 80.0)


class ThresholdsError(typed.ConfigError):
    """Every problem found in a thresholds file, one `file: path: message` per line."""

    what = "thresholds"

    @property
    def errors(self) -> list[str]:
        return self.problems


RATIO = Check("a number in [0, 1]", lambda v: 0 <= v <= 1)
OPEN_RATIO = Check("a number in (0, 1)", lambda v: 0 < v < 1)
POSITIVE = Check("a number > 0", lambda v: v > 0)
NON_NEGATIVE = Check("a number >= 0", lambda v: v >= 0)
DURATION = Check("a duration like 30s, 5m, 1h, 7d, 1w", lambda v: bool(_DURATION.match(v)))
REGEX = Check("a valid regular expression", lambda v: _compiles(v))
TEXT = Check("a string")

Ratio = Annotated[float, RATIO]
OpenRatio = Annotated[float, OPEN_RATIO]
Positive = Annotated[float, POSITIVE]
NonNegative = Annotated[float, NON_NEGATIVE]
Duration = Annotated[str, DURATION]
Regex = Annotated[str, REGEX]
Text = Annotated[str, TEXT]


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration: `duration_seconds("2h") == 7200`."""
    if text == "0":
        return 0.0
    match = re.match(r"^([0-9]+)(ms|s|m|h|d|w|y)$", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


@dataclass
class Objective:
    objective: OpenRatio


@dataclass
class LatencyObjective:
    objective: OpenRatio
    thresholdSeconds: Positive


@dataclass
class BurnWindow:
    """One multiwindow burn-rate tier: alert when both windows burn faster than
    budgetPercent of the period's error budget would allow over `long`."""

    severity: Annotated[str, Check("one of critical, warning, info", lambda v: v in ("critical", "warning", "info"))]
    long: Duration
    short: Duration
    budgetPercent: Annotated[float, Check("a number in (0, 100]", lambda v: 0 < v <= 100)]
    # `for` is a Python keyword; the YAML key is `for`.
    for_: Duration = field(metadata={"key": "for"})


@dataclass
class SLO:
    period: Duration
    availability: Objective
    latency: LatencyObjective
    windows: list[BurnWindow]


@dataclass
class Budget:
    default: NonNegative
    per_service: dict[str, NonNegative]


@dataclass
class Quota:
    default: NonNegative
    per_model: dict[str, NonNegative]


@dataclass
class Thresholds:
    """All knobs; field names are the YAML keys (`<AlertName><Knob>`)."""

    Selector: Text
    GrafanaURL: Text
    RunbookURLBase: Text
    CallSelector: Text

    LLMErrorRatioHighWarningThreshold: Ratio
    LLMErrorRatioHighWarningFor: Duration
    LLMErrorRatioHighCriticalThreshold: Ratio
    LLMErrorRatioHighCriticalFor: Duration
    LLMErrorRatioHighMinOperationsPerSecond: NonNegative
    LLMErrorRatioHighMinErrors: NonNegative

    LLMTimeToFirstTokenHighWarningThreshold: Positive
    LLMTimeToFirstTokenHighWarningFor: Duration
    LLMTimeToFirstTokenHighCriticalThreshold: Positive
    LLMTimeToFirstTokenHighCriticalFor: Duration

    LLMSafetyEvaluationFailedNameRegex: Regex
    LLMSafetyEvaluationFailedFailLabelRegex: Regex
    LLMSafetyEvaluationFailedThreshold: NonNegative
    LLMSafetyEvaluationFailedWindow: Duration
    LLMSafetyEvaluationFailedFor: Duration

    LLMQualityDropWarningThreshold: Ratio
    LLMQualityDropWarningFor: Duration
    LLMQualityDropCriticalThreshold: Ratio
    LLMQualityDropCriticalFor: Duration
    LLMQualityDropWindow: Duration
    LLMQualityDropCriticalWindow: Duration
    LLMQualityDropBaselineWindow: Duration
    LLMQualityDropMinHistory: Duration
    LLMQualityDropMinScores: NonNegative
    LLMQualityDropCriticalMinScores: NonNegative

    LLMTelemetryAbsentWindow: Duration
    LLMTelemetryAbsentBaselineWindow: Duration
    LLMTelemetryAbsentMinCallsPerSecond: Positive
    LLMTelemetryAbsentFor: Duration

    slo: SLO

    LLMCostPerRequestHighFactor: Positive
    LLMCostPerRequestHighWindow: Duration
    LLMCostPerRequestHighBaselineWindow: Duration
    LLMCostPerRequestHighMinHistory: Duration
    LLMCostPerRequestHighFor: Duration

    LLMSpendSpikeFactor: Positive
    LLMSpendSpikeBaselineWindow: Duration
    LLMSpendSpikeMinHistory: Duration
    LLMSpendSpikeMinUSDPerHour: NonNegative
    LLMSpendSpikeFor: Duration

    LLMDailyBudgetExceededThresholdUSD: Budget
    LLMDailyBudgetExceededFor: Duration

    LLMNegativeFeedbackHighThreshold: Ratio
    LLMNegativeFeedbackHighWindow: Duration
    LLMNegativeFeedbackHighMinFeedback: NonNegative
    LLMNegativeFeedbackHighFor: Duration

    LLMTruncationHighThreshold: Ratio
    LLMTruncationHighWindow: Duration
    LLMTruncationHighFor: Duration

    LLMLatencyRegressionFactor: Positive
    LLMLatencyRegressionWindow: Duration
    LLMLatencyRegressionCompareOffset: Duration
    LLMLatencyRegressionMinOperationsPerSecond: NonNegative
    LLMLatencyRegressionFor: Duration

    LLMTokenQuotaNearlyExhaustedThreshold: Ratio
    LLMTokenQuotaNearlyExhaustedTokensPerMinute: Quota
    LLMTokenQuotaNearlyExhaustedWindow: Duration
    LLMTokenQuotaNearlyExhaustedFor: Duration

    LLMUnpricedModelThreshold: NonNegative
    LLMUnpricedModelWindow: Duration
    LLMUnpricedModelFor: Duration

    LLMRunawayAgentMaxOperationsPerTrace: Positive
    LLMRunawayAgentQuantile: OpenRatio
    LLMRunawayAgentWindow: Duration
    LLMRunawayAgentFor: Duration

    LLMConversationCostOutlierFactor: Positive
    LLMConversationCostOutlierQuantile: OpenRatio
    LLMConversationCostOutlierWindow: Duration
    LLMConversationCostOutlierBaselineWindow: Duration
    LLMConversationCostOutlierMinHistory: Duration
    LLMConversationCostOutlierFor: Duration

    LLMEngineKVCacheNearlyFullThreshold: Ratio
    LLMEngineKVCacheNearlyFullWindow: Duration
    LLMEngineKVCacheNearlyFullFor: Duration
    LLMEngineQueueGrowingMinWaiting: NonNegative
    LLMEngineQueueGrowingMinGrowthPerMinute: Positive
    LLMEngineQueueGrowingWindow: Duration
    LLMEngineQueueGrowingFor: Duration
    LLMEngineTimeToFirstTokenObjective: OpenRatio
    LLMEngineTimeToFirstTokenThresholdSeconds: Positive

    LLMRetrievalLatencyTrendingUpFactor: Positive
    LLMRetrievalLatencyTrendingUpWindow: Duration
    LLMRetrievalLatencyTrendingUpCompareOffset: Duration
    LLMRetrievalLatencyTrendingUpFor: Duration

    LLMToolLatencyTrendingUpFactor: Positive
    LLMToolLatencyTrendingUpWindow: Duration
    LLMToolLatencyTrendingUpCompareOffset: Duration
    LLMToolLatencyTrendingUpFor: Duration

    LLMConversationCostTrendingUpFactor: Positive
    LLMConversationCostTrendingUpWindow: Duration
    LLMConversationCostTrendingUpCompareOffset: Duration
    LLMConversationCostTrendingUpFor: Duration

    LLMExporterLabelOverflowThreshold: NonNegative
    LLMExporterLabelOverflowWindow: Duration
    LLMExporterLabelOverflowFor: Duration
    LLMExporterRejectingSpansThreshold: NonNegative
    LLMExporterRejectingSpansWindow: Duration
    LLMExporterRejectingSpansFor: Duration
    LLMPriceTableStaleMaxAge: Duration
    LLMPriceTableStaleFor: Duration

    def to_config(self) -> dict[str, Any]:
        """The mixin's `_config`: the same keys and values as the YAML."""
        return _dump(self)


# ---------------------------------------------------------------- loading


def load_thresholds(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Thresholds:
    """Defaults from the packaged thresholds.yaml, then `path`, then `overrides`.

    Raises ThresholdsError listing every unknown key, wrong type and
    inconsistent pair, each prefixed with the file it came from.
    """
    errors: list[str] = []
    merged = _read(DEFAULT_PATH, errors)
    layers: list[tuple[str, Any]] = []
    if path is not None:
        layers.append((str(path), _read(Path(path), errors)))
    if overrides is not None:
        layers.append(("<overrides>", overrides))
    for name, data in layers:
        if data is None:
            continue
        if not isinstance(data, dict):
            errors.append(f"{name}: must be a mapping of knob names to values")
            continue
        layer_errors = typed.check(Thresholds, data, name, partial=True)
        errors.extend(layer_errors)
        if not layer_errors:
            merged = _merge(merged, data)
    if errors:
        raise ThresholdsError(errors)
    source = str(path) if path is not None else "<overrides>" if overrides is not None else DEFAULT_PATH.name
    try:
        result = typed.build(Thresholds, merged, source)
    except typed.ConfigError as exc:
        raise ThresholdsError(exc.problems) from None
    final_errors = _consistency(result)
    if final_errors:
        raise ThresholdsError([f"{source}: {e}" for e in final_errors])
    return result


def _read(path: Path, errors: list[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return typed.load_yaml(fh) or {}
    except OSError as exc:
        errors.append(f"{path}: cannot read: {exc.strerror}")
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML: {exc}")
    return None


def _merge(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            # Maps keyed by service/model are replaced whole, not merged.
            out[key] = value if key in ("per_service", "per_model") else _merge(base.get(key), value)
        return out
    return top


def _consistency(th: Thresholds) -> list[str]:
    """Cross-field rules: warning tiers below critical ones, windows ordered."""
    errors = []
    pairs = [
        ("LLMErrorRatioHighWarningThreshold", "LLMErrorRatioHighCriticalThreshold"),
        ("LLMTimeToFirstTokenHighWarningThreshold", "LLMTimeToFirstTokenHighCriticalThreshold"),
        ("LLMQualityDropWarningThreshold", "LLMQualityDropCriticalThreshold"),
    ]
    for warn, crit in pairs:
        if getattr(th, warn) > getattr(th, crit):
            errors.append(f"{warn}: must not be above {crit} ({getattr(th, warn)} > {getattr(th, crit)})")
    if not re.fullmatch(r'\s*gen_ai_operation_name\s*(=~|=)\s*"[^"\\]*"\s*', th.CallSelector):
        errors.append('CallSelector: must be one matcher on gen_ai_operation_name, '
                      'e.g. gen_ai_operation_name=~"chat|text_completion|generate_content|embeddings"')
    if th.LLMEngineTimeToFirstTokenThresholdSeconds not in ENGINE_TTFT_BOUNDS:
        errors.append("LLMEngineTimeToFirstTokenThresholdSeconds: must be a bucket bound of both vLLM's and "
                      f"SGLang's time-to-first-token histograms: one of {', '.join(f'{b:g}' for b in ENGINE_TTFT_BOUNDS)}")
    if not th.slo.windows:
        errors.append("slo.windows: name at least one burn-rate tier (the SLO alerts and dashboards use them)")
    for i, w in enumerate(th.slo.windows):
        if duration_seconds(w.short) >= duration_seconds(w.long):
            errors.append(f"slo.windows[{i}]: short ({w.short}) must be shorter than long ({w.long})")
        if duration_seconds(w.long) > duration_seconds(th.slo.period):
            errors.append(f"slo.windows[{i}].long: must not be longer than slo.period ({th.slo.period})")
    for path, keys in (("LLMDailyBudgetExceededThresholdUSD.per_service", th.LLMDailyBudgetExceededThresholdUSD.per_service),
                       ("LLMTokenQuotaNearlyExhaustedTokensPerMinute.per_model", th.LLMTokenQuotaNearlyExhaustedTokensPerMinute.per_model)):
        for key in keys:
            if not key or '"' in key or "\\" in key or "\n" in key:
                errors.append(f"{path}.{key}: label value must be non-empty, without quotes, backslashes or newlines")
    if duration_seconds(th.LLMQualityDropCriticalWindow) > duration_seconds(th.LLMQualityDropWindow):
        errors.append(f"LLMQualityDropCriticalWindow: must not be longer than LLMQualityDropWindow "
                      f"({th.LLMQualityDropCriticalWindow} > {th.LLMQualityDropWindow})")
    for name in ("LLMQualityDrop", "LLMCostPerRequestHigh", "LLMConversationCostOutlier"):
        hist, base = getattr(th, name + "MinHistory"), getattr(th, name + "BaselineWindow")
        if duration_seconds(hist) > duration_seconds(base):
            errors.append(f"{name}MinHistory: must not be longer than {name}BaselineWindow ({hist} > {base})")
    return errors


def bucket_warnings(th: Thresholds, duration_bounds: Sequence[float]) -> list[str]:
    """Knobs that load but may select no series, one `key: message` each (not errors: the exporter's
    buckets can be changed). `duration_bounds` are the exporter's default buckets of
    gen_ai_client_operation_duration_seconds, `llmpulse.config.DURATION_BUCKETS` (alerts/* do not
    import the exporter's config; the command passes them).

    >>> bucket_warnings(load_thresholds(), [1, 10.24])
    []
    >>> bucket_warnings(load_thresholds(overrides={"slo": {"latency": {"thresholdSeconds": 7}}}), [1, 10.24])
    ... # doctest: +ELLIPSIS
    ['slo.latency.thresholdSeconds: 7 is not a bucket bound of ... (1, 10.24): ...']
    """
    seconds = th.slo.latency.thresholdSeconds
    if seconds in duration_bounds:
        return []
    bounds = ", ".join(f"{b:g}" for b in duration_bounds)
    return [f"slo.latency.thresholdSeconds: {seconds:g} is not a bucket bound of the exporter's default "
            f"gen_ai_client_operation_duration_seconds buckets ({bounds}): the latency SLO reads the bucket "
            f'le="{seconds:g}", which no series has with these buckets, so the SLO has no data. This is fine '
            f"only if the exporter's metrics.duration_buckets were changed to include {seconds:g}."]


def _dump(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.metadata.get("key", f.name): _dump(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [_dump(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in sorted(obj.items())}
    return obj
