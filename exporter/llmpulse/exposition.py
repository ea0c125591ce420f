"""Render /metrics straight from llmpulse's series dicts (Prometheus text 0.0.4 or OpenMetrics 1.0).

prometheus_client's `generate_latest` builds a `Sample` per line, sorts and
escapes every label set on every scrape. Here each series' label text is
escaped once and cached, the per-bucket `le` fragments are built once per
family, and the series are copied under the metrics lock and rendered outside
it, so a large scrape does not stall ingest. Exemplars (trace_id, span_id)
are written in OpenMetrics, as prometheus_client does. Collectors in the
registry other than `Metrics` (e.g. the forwarder's) are appended by
prometheus_client itself. `Metrics.collect()` stays, for
`registry.get_sample_value` and any other reader of the registry.

>>> from prometheus_client import CollectorRegistry
>>> from llmpulse.config import load_config
>>> from llmpulse.metrics import Metrics
>>> reg = CollectorRegistry()
>>> m = Metrics(load_config(), reg)
>>> body = render(m, reg, openmetrics=False).decode()
>>> "# TYPE llm_tokens_total counter" in body and 'llmpulse_build_info{version="' in body
True
>>> render(m, reg, openmetrics=True).endswith(b"# EOF\\n")
True
"""

from __future__ import annotations

from prometheus_client import exposition as _text
from prometheus_client.openmetrics import exposition as _om
from prometheus_client.utils import floatToGoString

from llmpulse.series import Counter, Gauge, Histogram

__all__ = ["render", "escape"]

BIG = 1e6          # at and above this, Go's float format switches to exponents: use floatToGoString


def escape(value: str) -> str:
    """Label value escaping shared by both formats.

    >>> escape('a"b\\\\c')
    'a\\\\"b\\\\\\\\c'
    """
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def _num(v: float) -> str:
    # floatToGoString differs from repr only for large values, infinities and NaN
    if -BIG < v < BIG:
        return repr(float(v))
    return floatToGoString(v)


def _label_text(family, key: tuple) -> str:
    cache = family.label_text
    text = cache.get(key)
    if text is None:
        text = ",".join(f'{n}="{escape(str(v))}"' for n, v in zip(family.labelnames, key))
        cache[key] = text
    return text


def _prune(family, live: int) -> None:
    # label texts of expired gauge series (e.g. llm_deployment_info) are dropped now and then
    cache = family.label_text
    if len(cache) > 2 * live + 64:
        live_keys = family.series if isinstance(family, Histogram) else family.cells
        family.label_text = {k: t for k, t in cache.items() if k in live_keys}


def _header(family, openmetrics: bool) -> str:
    kind = "counter" if isinstance(family, Counter) else "gauge" if isinstance(family, Gauge) else "histogram"
    doc = family.doc.replace("\\", r"\\").replace("\n", r"\n")
    if openmetrics:
        doc = doc.replace('"', r'\"')
        name = family.name
    else:
        name = family.name + "_total" if kind == "counter" else family.name
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


def _render_simple(family, items: list, openmetrics: bool, out: list) -> None:
    out.append(_header(family, openmetrics))
    name = family.name + "_total" if isinstance(family, Counter) else family.name
    for key, v in items:
        text = _label_text(family, key) if key else ""
        v = repr(float(v)) if -BIG < v < BIG else floatToGoString(v)
        out.append(f"{name}{{{text}}} {v}\n" if text else f"{name} {v}\n")


def _exemplar(ex, value: float) -> str:
    trace_id, span_id, ts = ex
    labels = f'span_id="{span_id}",trace_id="{trace_id}"' if span_id else f'trace_id="{trace_id}"'
    return f" # {{{labels}}} {_num(value)} {ts}"


def _render_histogram(family: Histogram, items: list, openmetrics: bool, out: list) -> None:
    out.append(_header(family, openmetrics))
    name = family.name
    les = family.le_text          # ['le="0.1"} ', ..., 'le="+Inf"} ']
    bucket, count, total = name + "_bucket{", name + "_count", name + "_sum"
    append = out.append
    for key, data, s, exemplars, regions in items:   # one part's copied region and sum (llmpulse.series), or several
        text = _label_text(family, key) if key else ""
        pre = bucket + text + "," if text else bucket
        acc = 0.0
        if regions is None:
            counts, values = data[0::2], data[1::2]
        else:
            counts, s, exemplars, values = family.merged(regions, copied=True)
        if openmetrics:
            for le, c, ex, v in zip(les, counts, exemplars, values):
                acc += c
                n = repr(acc) if acc < BIG else floatToGoString(acc)
                append(f"{pre}{le}{n}{_exemplar(ex, v)}\n" if ex is not None else f"{pre}{le}{n}\n")
        else:
            for le, c in zip(les, counts):
                acc += c
                append(f"{pre}{le}{acc!r}\n" if acc < BIG else f"{pre}{le}{floatToGoString(acc)}\n")
        n = repr(acc) if acc < BIG else floatToGoString(acc)
        s = repr(s) if -BIG < s < BIG else floatToGoString(s)
        if text:
            append(f"{count}{{{text}}} {n}\n{total}{{{text}}} {s}\n")
        else:
            append(f"{count} {n}\n{total} {s}\n")


def _snapshot(metrics) -> list:
    """Copy what a scrape needs under the lock (fast C-level copies); render later without it."""
    snap = []
    with metrics.lock:
        metrics.refresh()
        for f in metrics.families:
            if isinstance(f, Histogram):
                size, n = f.size, f.n
                items: list[tuple] = []
                for k, parts in f.series.items():
                    if len(parts) == 1:
                        block, o, e, so = parts[0]
                        data = block.data
                        items.append((k, data[o:o + size], data[so], block.ex[e:e + n], None))
                    else:
                        items.append((k, None, 0.0, None, f.copy(parts)))
                snap.append((f, items))
            else:
                snap.append((f, f.items()))
    return snap


def render(metrics, registry, openmetrics: bool) -> bytes:
    """The whole /metrics body: llmpulse's families, then any other collector in the registry."""
    out: list[str] = []
    for family, items in _snapshot(metrics):
        if isinstance(family, Histogram):
            _render_histogram(family, items, openmetrics, out)
            _prune(family, len(family.series))
        else:
            _render_simple(family, items, openmetrics, out)
            _prune(family, len(family.cells))
    with metrics.collect_skipped():       # the rest of the registry, rendered by prometheus_client
        rest = (_om.generate_latest if openmetrics else _text.generate_latest)(registry)
    return "".join(out).encode("utf-8") + rest
