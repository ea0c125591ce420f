# Types of the C extension llmpulse._otlpwire (_otlpwire.c), for mypy and editors.
from typing import Any

def configure(table: Any, decode_error: type[Exception], too_many: type[Exception], raw_span: type,
              raw_event: type, /) -> None: ...

class Keys:
    """The span attribute names (and name prefixes) worth decoding; None: every attribute."""

    def __init__(self, names: tuple[str, ...] | None, prefixes: tuple[str, ...], /) -> None: ...
    def decode(self, body: bytes, max_items: int, /) -> list[Any]: ...
