"""deploy/: everything `llmpulse deploy build` renders, written and checked in one place.

    deploy/kubernetes/   kustomize base + example overlay (llmpulse.kubernetes)
    deploy/prometheus/   HA pair and remote-write configurations (llmpulse.prometheus_configs)

>>> [name for name in render() if name.startswith("prometheus/")][:1]
['prometheus/prometheus-ha-pair.yml']
"""

from __future__ import annotations

import os
from pathlib import Path

from llmpulse.paths import DEPLOY_DIR


def render(rules_dir: Path | None = None, out_dir: Path = DEPLOY_DIR) -> dict[str, str]:
    """Path relative to deploy/ -> file text; the PrometheusRule from `rules_dir` (default alerts/generated).

    The Prometheus configurations load the same rule files: by a path relative to
    `out_dir`/prometheus (the checkout's `../../alerts/generated/*.yaml` when both are the defaults)."""
    from llmpulse import kubernetes, prometheus_configs

    out = {f"kubernetes/{k}": v for k, v in kubernetes.render(rules_dir).items()}
    glob = prometheus_configs.RULES_GLOB
    if rules_dir is not None or Path(out_dir).resolve() != DEPLOY_DIR.resolve():
        from llmpulse.alerts.build import GENERATED_DIR

        rules = Path(rules_dir or GENERATED_DIR).resolve()
        glob = os.path.join(os.path.relpath(rules, (Path(out_dir) / "prometheus").resolve()), "*.yaml")
    out.update({f"prometheus/{k}": v for k, v in prometheus_configs.render(glob).items()})
    return dict(sorted(out.items()))


def write(out_dir: Path = DEPLOY_DIR, rules_dir: Path | None = None) -> list[Path]:
    written = []
    for rel, text in render(rules_dir, out_dir).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(out_dir: Path = DEPLOY_DIR, rules_dir: Path | None = None) -> list[str]:
    """Files missing or different from a fresh render, and YAML files no render makes."""
    fresh = render(rules_dir, out_dir)
    out = [rel for rel, text in fresh.items()
           if not (out_dir / rel).is_file() or (out_dir / rel).read_text(encoding="utf-8") != text]
    if out_dir.is_dir():
        out += sorted(rel for p in out_dir.rglob("*.y*ml") if (rel := str(p.relative_to(out_dir))) not in fresh)
    return out
