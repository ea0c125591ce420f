"""Map plain YAML data onto dataclasses, strictly: the one loader of llmpulse's typed files.

The exporter config (`llmpulse.config`), the alert thresholds (`llmpulse.alerts.thresholds`) and the
shape of price files (`llmpulse.pricing`: keys, types, required keys; the prices are built from the
checked document after) are loaded here and report problems the same way, all at once, one per line:

    <file>: <key path>: <what was wrong>[, got <value>] [(did you mean <key>? known: ...)]

and every command prints them the same way, `llmpulse: invalid <what>:` and then one indented
problem a line (`ConfigError.report`; `what` is configuration, thresholds or price table).

Unknown keys, wrong types, missing required keys and values a `Check` refuses are errors; a
dataclass field's YAML key is its name, or `field(metadata={"key": ...})`; a dataclass may add
its own rules in a `validate()` method returning `"key: message"` strings (a class that must also
refuse bad values when code builds it calls `refuse(self)` in `__post_init__`).

>>> from dataclasses import dataclass
>>> @dataclass
... class Port:
...     port: Annotated[int, Check("a port number 1..65535", lambda v: 0 < v < 65536)] = 80
>>> build(Port, {"port": 8080}, "cfg.yaml")
Port(port=8080)
>>> build(Port, {"prot": 1, "port": 0}, "cfg.yaml")
Traceback (most recent call last):
...
llmpulse.typed.ConfigError: cfg.yaml: prot: unknown key (did you mean port? known: port)
cfg.yaml: port: must be a port number 1..65535, got 0
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import types
import typing
from dataclasses import dataclass
from typing import IO, Annotated, Any, Callable, TypeVar

import yaml

T = TypeVar("T")

__all__ = ["Annotated", "Check", "ConfigError", "FILE", "FilePath", "Invalid", "at", "build", "check", "load_yaml", "merge",
           "got", "refuse", "relative_to", "unknown_key", "unknown_key_message"]

SHOW_KNOWN = 8          # known keys listed in an unknown-key message, at most


class _WrittenInt(int):
    """A YAML integer that remembers how it was written (`0123` is 83 to YAML 1.1, "0123" as text)."""
    written: str


class _WrittenFloat(float):
    written: str


class _Loader(yaml.SafeLoader):
    """SafeLoader whose numbers remember their text, so a number where a string is expected is taken as
    written (`token: 0123` is "0123", `version: 1.10` is "1.10"), not as YAML read it (83, 1.1)."""


def _written(base: Callable[[Any, Any], Any], cls: type) -> Callable[[Any, Any], Any]:
    def construct(loader: Any, node: Any) -> Any:
        value = cls(base(loader, node))
        value.written = node.value
        return value
    return construct


_Loader.add_constructor("tag:yaml.org,2002:int", _written(yaml.SafeLoader.construct_yaml_int, _WrittenInt))
_Loader.add_constructor("tag:yaml.org,2002:float", _written(yaml.SafeLoader.construct_yaml_float, _WrittenFloat))


def load_yaml(stream: str | bytes | IO[str]) -> Any:
    """yaml.safe_load, but a number keeps its text for a string field (`build` converts it back).

    >>> doc = load_yaml("token: 0123\\nport: 0x10")
    >>> doc["token"] == 83, doc["token"].written, doc["port"] == 16
    (True, '0123', True)
    """
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _text(value: Any) -> str:
    """A scalar as a string field takes it: a number as it was written in YAML."""
    return str(getattr(value, "written", value))


class ConfigError(ValueError):
    """One or more problems, each `<file>: <key path>: <message>`; `what` names the kind of file.

    >>> print(ConfigError(["cfg.yaml: port: must be an integer, got 'x'"]).report())
    invalid configuration:
      cfg.yaml: port: must be an integer, got 'x'
    """

    what = "configuration"      # subclasses: "thresholds", "price table"

    def __init__(self, problems: typing.Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def report(self) -> str:
        """What every command prints (after `llmpulse: `): `invalid <what>:`, then one indented problem a line."""
        return f"invalid {self.what}:\n  " + "\n  ".join(self.problems)


class Invalid(ValueError):
    """Raised by `refuse`: a dataclass's own problems, each `key: message` relative to the dataclass."""

    def __init__(self, problems: typing.Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def refuse(obj: Any) -> None:
    """Raise Invalid with `obj.validate()`'s problems, if any: for `__post_init__`, so that code building
    the dataclass directly is refused too; `build` reports each problem under its key path.

    >>> @dataclass
    ... class Queue:
    ...     size: int = 10
    ...     def validate(self) -> list[str]:
    ...         return [] if self.size >= 1 else [f"size: must be >= 1, got {self.size}"]
    ...     def __post_init__(self) -> None:
    ...         refuse(self)
    >>> Queue(0)
    Traceback (most recent call last):
    ...
    llmpulse.typed.Invalid: size: must be >= 1, got 0
    >>> build(Queue, {"size": 0}, "cfg.yaml")
    Traceback (most recent call last):
    ...
    llmpulse.typed.ConfigError: cfg.yaml: size: must be >= 1, got 0
    """
    problems = obj.validate()
    if problems:
        raise Invalid(problems)


@dataclass(frozen=True)
class Check:
    """A kind of value: its name in messages (what is allowed) and a predicate on the converted value."""

    kind: str
    ok: Callable[[Any], bool] = lambda v: True


# A file named in a typed file: `relative_to` joins a relative one to that file's folder.
FILE = Check("a file path")
FilePath = Annotated[str, FILE]


def relative_to(tp: Any, data: Any, folder: str | os.PathLike[str]) -> Any:
    """`data` (read from a file in `folder`, shaped as a `tp`) with every relative `FilePath` value
    joined to `folder`, as Prometheus reads the paths in its config; absolute ones and `""` are kept.
    Values of the wrong shape are left for `build` to report.

    >>> @dataclass
    ... class Auth:
    ...     token_file: FilePath = ""
    ...     files: list[FilePath] = dataclasses.field(default_factory=list)
    >>> relative_to(Auth, {"token_file": "secrets/token", "files": ["/etc/a.yaml", "./b.yaml"]}, "/etc/llmpulse")
    {'token_file': '/etc/llmpulse/secrets/token', 'files': ['/etc/a.yaml', '/etc/llmpulse/b.yaml']}
    """
    checker = None
    if typing.get_origin(tp) is Annotated:
        tp, checker = typing.get_args(tp)[0], typing.get_args(tp)[1]
    if checker is FILE:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = _text(data)          # a file named 0123 is "0123", as a string field takes it
        if isinstance(data, str) and data and not os.path.isabs(data):
            return os.path.normpath(os.path.join(folder, data))
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        fits = [a for a in typing.get_args(tp) if a is not type(None) and _shape_fits(a, data)]
        return relative_to(fits[0], data, folder) if fits else data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            return data
        hints, fields = _schema(tp)
        return {k: relative_to(hints[fields[k].name], v, folder) if k in fields else v for k, v in data.items()}
    if origin is list and isinstance(data, list):
        (item,) = typing.get_args(tp)
        return [relative_to(item, v, folder) for v in data]
    if origin is dict and isinstance(data, dict):
        _, item = typing.get_args(tp)
        return {k: relative_to(item, v, folder) for k, v in data.items()}
    return data


def build(cls: type[T], data: Any, source: str) -> T:
    """`data` as a `cls`, or ConfigError listing every problem, each prefixed with `source`."""
    problems: list[str] = []
    value = _convert(cls, data, "", problems, partial=False)
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return typing.cast(T, value)        # _convert built a `cls` (no problems were found)


def check(cls: type, data: Any, source: str, partial: bool = True) -> list[str]:
    """The problems of `data` as a `cls`, without building it; `partial`: required keys may be absent
    (a layer that overrides some keys of another)."""
    problems: list[str] = []
    _convert(cls, data, "", problems, partial=partial)
    return [f"{source}: {p}" for p in problems]


def at(path: str, key: str) -> str:
    """A key's path below `path`: `at("server", "port") == "server.port"`, `at("", "port") == "port"`."""
    return f"{path}.{key}" if path else key


def unknown_key(path: str, key: str, known: typing.Iterable[str]) -> str:
    """The message for an unknown key: a suggestion when one is close, and what is allowed.

    >>> unknown_key("models[5]", "outptu", ["name", "input", "output"])
    'models[5].outptu: unknown key (did you mean output? known: input, name, output)'
    """
    return f"{at(path, str(key))}: {unknown_key_message(key, known)}"


def unknown_key_message(key: str, known: typing.Iterable[str]) -> str:
    """`unknown_key` without the path, for loaders that add it themselves (`llmpulse.pricing`)."""
    names = sorted(known)
    close = difflib.get_close_matches(str(key), names, n=1)
    listed = ", ".join(names[:SHOW_KNOWN]) + (f", ... ({len(names)} in all)" if len(names) > SHOW_KNOWN else "")
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key ({hint}known: {listed})"


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (dicts merge, the rest replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("key", f.name))


def got(value: Any) -> str:
    """A value as a message shows it (`got(-1) == "-1"`), shortened."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _convert(tp: Any, data: Any, path: str, problems: list[str], partial: bool) -> Any:
    """`data` converted to `tp`, or _BAD (its problems appended)."""
    checker: Check | None = None
    if typing.get_origin(tp) is Annotated:
        tp, checker = typing.get_args(tp)[0], typing.get_args(tp)[1]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if len(args) > 1:           # `float | Tier`: the alternative the data's shape fits
            fits = [a for a in args if _shape_fits(a, data)]
            if not fits:
                problems.append(f"{path}: must be {' or '.join(_kind(a) for a in args)}, got {got(data)}")
                return _BAD
            args = fits
        return _convert(args[0], data, path, problems, partial)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, data, path, problems, partial)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(data, list):
            problems.append(f"{path}: must be a list, got {got(data)}")
            return _BAD
        items = [_convert(item, v, f"{path}[{i}]", problems, False) for i, v in enumerate(data)]
        return _BAD if any(v is _BAD for v in items) else items
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(data, dict):
            problems.append(f"{path}: must be a mapping, got {got(data)}")
            return _BAD
        out = {_text(k): _convert(item, v, at(path, _text(k)), problems, False) for k, v in data.items()}
        return _BAD if any(v is _BAD for v in out.values()) else out
    value = _scalar(tp, data, path, problems, checker)
    if value is not _BAD and checker is not None and not checker.ok(value):
        problems.append(f"{path}: must be {checker.kind}, got {got(data)}")
        return _BAD
    return value


_BAD = object()         # what a value that cannot be converted becomes (its problem is reported)
_KINDS = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
_OK: dict[Any, Callable[[Any], bool]] = {
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
    # a number where a string is expected is taken as written (`host: 10`, a duration `0`)
    str: lambda v: isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)),
}


def _bare(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated else tp


def _kind(tp: Any) -> str:
    if typing.get_origin(tp) is Annotated:
        return str(typing.get_args(tp)[1].kind)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "a mapping"
    origin = typing.get_origin(tp)
    return "a list" if origin is list else "a mapping" if origin is dict else _KINDS.get(tp, str(tp))


def _shape_fits(tp: Any, data: Any) -> bool:
    tp = _bare(tp)
    if (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or typing.get_origin(tp) is dict:
        return isinstance(data, dict)
    if typing.get_origin(tp) is list:
        return isinstance(data, list)
    ok = _OK.get(tp)
    return ok is not None and ok(data)


def _scalar(tp: Any, data: Any, path: str, problems: list[str], checker: Check | None) -> Any:
    if tp is Any:
        return data
    ok = _OK.get(tp)
    if ok is None:
        problems.append(f"{path}: unsupported type {getattr(tp, '__name__', tp)}")
        return _BAD
    if not ok(data):
        problems.append(f"{path}: must be {checker.kind if checker else _KINDS[tp]}, got {got(data)}")
        return _BAD
    # a number is kept as written (an int stays an int: rendered rules and dashboards show `5`, not `5.0`)
    if tp is str:
        return _text(data)
    if isinstance(data, _WrittenInt):
        return int(data)
    if isinstance(data, _WrittenFloat):
        return float(data)
    return data


@functools.lru_cache(maxsize=None)
def _schema(tp: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A dataclass's type hints and its init fields by YAML key (read once per class)."""
    return (typing.get_type_hints(tp, include_extras=True),
            {_key(f): f for f in dataclasses.fields(tp) if f.init})


def _dataclass(tp: type, data: Any, path: str, problems: list[str], partial: bool) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path or '(top level)'}: must be a mapping, got {got(data)}")
        return _BAD
    hints, fields = _schema(tp)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            problems.append(unknown_key(path, str(key), fields))
            continue
        f = fields[key]
        kwargs[f.name] = _convert(hints[f.name], value, at(path, str(key)), problems, partial)
    if partial:
        return None
    missing = [key for key, f in fields.items() if key not in data and _required(f)]
    problems.extend(f"{at(path, key)}: missing (required)" for key in missing)
    if missing or any(v is _BAD for v in kwargs.values()):     # cannot be built (nor validated)
        return _BAD
    try:
        obj = tp(**kwargs)
    except Invalid as exc:                                      # refuse(): its validate()'s problems
        problems.extend(at(path, msg) for msg in exc.problems)
        return _BAD
    except (TypeError, ValueError) as exc:
        problems.append(f"{path or '(top level)'}: {exc}")
        return _BAD
    validate = getattr(obj, "validate", None)
    if validate is not None:
        problems.extend(at(path, msg) for msg in validate())
    return obj
