"""Loki's and Tempo's selector rules, re-implemented from their source for the tests.

No Loki or Tempo can run here, so the queries llmpulse ships (dashboard panels and
the Grafana provisioning's links) are checked against the rules their parsers apply,
read in the source at the versions the compose stack runs:

* Loki 3.3.2
  - pkg/logql/syntax/lex.go: a STRING token is a Go string (double-quoted or
    back-quoted) decoded by Prometheus' util/strutil.Unquote; an unknown escape
    such as `\\.` in a double-quoted string is a lexer error.
  - pkg/logql/syntax/parser.go `validateMatchers` with pkg/util/matchers.go
    `SplitFiltersAndMatchers`: a matcher that matches the empty string is a filter,
    `=~".*"` is dropped altogether, and a selector with no matcher left fails with
    "queries require at least one regexp or equality matcher that does not have an
    empty-compatible value".
  - regex matchers are Prometheus `labels.NewMatcher`: the pattern is anchored
    (`^(?:...)$`) and must compile.
* Tempo 2.6.1
  - pkg/traceql/lexer.go: a STRING token is text/scanner's String or RawString
    decoded by Go's strconv.Unquote (an unknown escape is an error); attributes
    (`span.x`, `resource.x`, `.x`) run until a rune outside isAttributeRune.
  - regex operands (`=~`, `!~`) must compile.

Grafana's interpolation of `${var:regex}` is modelled on its template service: the
"All" option with a custom allValue is inserted raw; one value is regex-escaped
(`escapeRegex` of @grafana/data: \\ ^ $ * + ? . ( ) | [ ] { } /); several values
become `(a|b)`, each escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL = object()  # the "All" option of a multi-value variable

_GRAFANA_REGEX_ESCAPE = re.compile(r"([\\^$*+?.()|\[\]{}/])")
_VAR = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")


class SelectorError(ValueError):
    """The query would be refused by the backend's parser or validation."""


def grafana_interpolate(query: str, values: dict[str, object], all_value: str = ".*") -> str:
    """Replace `${name:regex}`, `${name}` and `$name` as Grafana would."""

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        if value is ALL:
            return all_value
        items = value if isinstance(value, list) else [value]
        if fmt == "regex":
            escaped = [_GRAFANA_REGEX_ESCAPE.sub(r"\\\1", v) for v in items]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        return items[0] if len(items) == 1 else "{" + ",".join(items) + "}"

    return _VAR.sub(one, query)


# ---------------------------------------------------------------- Go strings

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def go_unquote(token: str, *, allow_single: bool = False) -> str:
    """strconv.Unquote (and strutil.Unquote with `allow_single`): raw or escaped string."""
    if len(token) < 2 or token[0] != token[-1]:
        raise SelectorError(f"invalid syntax: {token}")
    quote, body = token[0], token[1:-1]
    if quote == "`":
        if "`" in body:
            raise SelectorError(f"invalid syntax: {token}")
        return body.replace("\r", "")
    if quote not in ('"', "'") or (quote == "'" and not allow_single):
        raise SelectorError(f"invalid syntax: {token}")
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == quote:
            raise SelectorError(f"invalid syntax: {token}")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise SelectorError(f"invalid syntax: {token}")
        nxt = body[i + 1]
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt == quote:
            out.append(quote)
            i += 2
        elif nxt in "01234567":
            digits = body[i + 1:i + 4]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise SelectorError(f"invalid syntax: {token}")
            out.append(chr(int(digits, 8)))
            i += 4
        elif nxt in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2:i + 2 + n]
            if not re.fullmatch(rf"[0-9a-fA-F]{{{n}}}", digits):
                raise SelectorError(f"invalid syntax: {token}")
            out.append(chr(int(digits, 16)))
            i += 2 + n
        else:
            raise SelectorError(f"invalid syntax: {token} (unknown escape \\{nxt})")
    return "".join(out)


def _go_regex(pattern: str, anchored: bool) -> re.Pattern:
    try:
        return re.compile(f"^(?:{pattern})$" if anchored else pattern)
    except re.error as exc:
        raise SelectorError(f"error parsing regexp {pattern!r}: {exc}") from None


# ---------------------------------------------------------------- Loki

@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, text: str) -> bool:
        if self.op in ("=", "!="):
            return (text == self.value) == (self.op == "=")
        hit = _go_regex(self.value, anchored=True).match(text) is not None
        return hit == (self.op == "=~")


_LOKI_TOKEN = re.compile(r'\s*(?:(?P<open>\{)|(?P<close>\})|(?P<comma>,)|(?P<op>=~|!~|!=|=)'
                         r'|(?P<name>[A-Za-z_][A-Za-z0-9_]*)'
                         r'|(?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'))')


def loki_stream_selector(query: str) -> list[Matcher]:
    """The matchers of a LogQL query's stream selector, as Loki 3.3.2 parses them.

    Raises SelectorError for a lexer error or a selector that fails validateMatchers.
    """
    start = query.find("{")
    if start < 0:
        raise SelectorError("no stream selector")
    pos, tokens = start, []
    while True:
        m = _LOKI_TOKEN.match(query, pos)
        if not m:
            raise SelectorError(f"syntax error at {query[pos:pos + 20]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        if kind == "close":
            break
    body = tokens[1:-1]
    matchers = []
    for i in range(0, len(body), 4):
        group = body[i:i + 4]
        kinds = [k for k, _ in group]
        if kinds[:3] != ["name", "op", "string"] or (len(group) == 4 and kinds[3] != "comma"):
            raise SelectorError(f"syntax error in stream selector: {query}")
        value = go_unquote(group[2][1], allow_single=True)
        matcher = Matcher(group[0][1], group[1][1], value)
        if matcher.op in ("=~", "!~"):
            _go_regex(value, anchored=True)
        matchers.append(matcher)
    # validateMatchers / SplitFiltersAndMatchers
    selecting = [mt for mt in matchers if not mt.matches("")]
    if not selecting:
        raise SelectorError("queries require at least one regexp or equality matcher that does not have "
                            "an empty-compatible value")
    return matchers


# ---------------------------------------------------------------- TraceQL

_TRACEQL_TOKEN = re.compile(
    r'\s*(?:(?P<brace>[{}()])|(?P<logic>&&|\|\|)|(?P<op>=~|!~|!=|>=|<=|=|>|<)'
    r'|(?P<attr>(?:span|resource|parent|event|link|instrumentation)?\.[^\s{}()=!<>&|~,]+)'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)|(?P<number>-?[0-9.]+[a-z]*)|(?P<word>[A-Za-z_]+))')


def traceql_check(query: str) -> list[tuple[str, str, str]]:
    """(attribute, operator, value) of each comparison in a TraceQL spanset filter.

    Raises SelectorError where Tempo 2.6.1's lexer (strconv.Unquote) or a regex
    operand would fail.
    """
    pos, tokens = 0, []
    while pos < len(query):
        if not query[pos:].strip():
            break
        m = _TRACEQL_TOKEN.match(query, pos)
        if not m:
            raise SelectorError(f"syntax error at {query[pos:pos + 20]!r}")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    out = []
    for i, (kind, text) in enumerate(tokens):
        if kind != "op":
            continue
        if i == 0 or i + 1 >= len(tokens) or tokens[i - 1][0] != "attr":
            raise SelectorError(f"syntax error near {text!r} in {query}")
        rhs_kind, rhs = tokens[i + 1]
        if rhs_kind == "string":
            value = go_unquote(rhs)
            if text in ("=~", "!~"):
                _go_regex(value, anchored=False)
        elif rhs_kind in ("number", "word"):
            value = rhs
        else:
            raise SelectorError(f"syntax error near {text!r} in {query}")
        out.append((tokens[i - 1][1], text, value))
    if not out:
        raise SelectorError(f"no comparison in {query}")
    return out
