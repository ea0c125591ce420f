"""Map plain YAML data onto dataclasses, strictly.

Unknown keys and wrong types are errors; every error is reported with its
path, all at once.

>>> from dataclasses import dataclass
>>> @dataclass
... class Port:
...     port: int = 80
>>> build(Port, {"port": 8080}, "cfg")
Port(port=8080)
>>> build(Port, {"prot": 1}, "cfg")
Traceback (most recent call last):
...
llmpulse.typed.ConfigError: cfg.prot: unknown key (known: port)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more configuration problems, each prefixed with its path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def build(cls: type[T], data: Any, path: str) -> T:
    problems: list[str] = []
    value = _convert(cls, data, path, problems)
    if problems:
        raise ConfigError(problems)
    return typing.cast(T, value)        # _convert built a `cls` (no problems were found)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (dicts merge, the rest replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, data: Any, path: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return _convert(args[0], data, path, problems)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{path}: must be a mapping, got {type(data).__name__}")
            return tp()
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        kwargs = {}
        for key, value in data.items():
            if key not in fields:
                problems.append(f"{path}.{key}: unknown key (known: {', '.join(sorted(fields))})")
                continue
            kwargs[key] = _convert(hints[key], value, f"{path}.{key}", problems)
        try:
            obj = tp(**kwargs)
        except (TypeError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
            return tp()
        check = getattr(obj, "validate", None)
        if check is not None:
            problems.extend(f"{path}.{msg}" for msg in check())
        return obj
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(data, list):
            problems.append(f"{path}: must be a list, got {type(data).__name__}")
            return []
        return [_convert(item, v, f"{path}[{i}]", problems) for i, v in enumerate(data)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(data, dict):
            problems.append(f"{path}: must be a mapping, got {type(data).__name__}")
            return {}
        return {str(k): _convert(item, v, f"{path}.{k}", problems) for k, v in data.items()}
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            problems.append(f"{path}: must be a number, got {data!r}")
            return 0.0
        return float(data)
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            problems.append(f"{path}: must be an integer, got {data!r}")
            return 0
        return data
    if tp is bool:
        if not isinstance(data, bool):
            problems.append(f"{path}: must be true or false, got {data!r}")
            return False
        return data
    if tp is str:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return str(data)
        if not isinstance(data, str):
            problems.append(f"{path}: must be a string, got {data!r}")
            return ""
        return data
    if tp is Any:
        return data
    problems.append(f"{path}: unsupported type {_type_name(tp)}")
    return data
