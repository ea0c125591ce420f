"""Redaction of personal data and secrets in prompt and completion text.

Applied to every piece of content llmpulse forwards (Loki log lines) before it
leaves the process. Each match is replaced by a typed placeholder:

>>> redact("mail bob@example.com, key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA")
'mail [REDACTED:email], key [REDACTED:api_key]'
>>> redact("card 4111 1111 1111 1111, order 1234 5678 9012 3456")
'card [REDACTED:card], order 1234 5678 9012 3456'

What is recognised (placeholder kind in brackets):
- private key blocks (PEM) [private_key]
- bearer tokens after "Bearer" / "Authorization: Bearer" [bearer_token];
  HTTP Basic credentials [basic_auth]; JSON web tokens anywhere [jwt]
- provider API keys [api_key]: OpenAI ``sk-...`` (incl. ``sk-proj-``), Anthropic
  ``sk-ant-...``, AWS access key ids ``AKIA``/``ASIA``, Google ``AIza...``,
  GitHub ``ghp_/gho_/ghu_/ghs_/ghr_`` and ``github_pat_``, Slack ``xox?-``,
  Stripe ``sk_live_/rk_live_`` (and test), Hugging Face ``hf_...``
- secrets in key=value / "key": "value" form whose key names a secret (api_key,
  secret, token, password, passwd, pwd, access_key, private_key, client_secret,
  credentials) [secret]; the key name is kept, the value replaced
- credentials in URLs ``scheme://user:password@host`` [url_credentials]
- e-mail addresses [email]
- payment card numbers, 13-19 digits with optional single spaces or dashes,
  kept only if the Luhn checksum holds [card]
- IBANs, checked with ISO 13616 mod-97 [iban]
- national ids: US social security numbers written ``123-45-6789`` / ``123 45 6789``
  or 9 digits after "SSN" [us_ssn]; UK National Insurance numbers, with HMRC's
  prefix rules (so the placeholder "QQ 12 34 56 C" is left alone) [uk_nino];
  Canadian social insurance numbers ``123-456-782`` (Luhn) [ca_sin];
  Indian Aadhaar numbers ``2345 6789 0124`` (Verhoeff checksum) [in_aadhaar]
- phone numbers: international ``+<country> ...`` or North-American
  ``(415) 555-0132`` / ``415-555-0132`` / ``415.555.0132`` / ``415 555 0132`` forms
  (area code and exchange starting 2-9), 7-15 digits [phone]

Not recognised (by design, to keep false positives low): bare 9-digit numbers
without an "SSN" context, phone numbers without separators or a ``+``, names and
postal addresses. Redaction lowers the risk of leaking data; it does not remove it.
Keep content capture off unless you need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

PLACEHOLDER = "[REDACTED:{kind}]"


def placeholder(kind: str) -> str:
    return PLACEHOLDER.format(kind=kind)


# --- checksums -------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check used by card numbers and Canadian SINs.

    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check (``GB82WEST12345698765432`` is valid)."""
    s = iban.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_ok(digits: str) -> bool:
    """Verhoeff check used by Aadhaar numbers."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][ord(ch) - 48]]
    return c == 0


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


# --- rules -----------------------------------------------------------------
# Each rule: (kind, compiled pattern, replacement). The replacement is either a
# string (may use groups) or a function of the match returning the new text.
# Order matters: secrets first (their bodies contain digit runs that would
# otherwise look like phone or card numbers), phone numbers last.

Replacement = str | Callable[["re.Match[str]"], str]

_SECRET_KEY_NAME = re.compile(
    r"api[_\-]?key|apikey|secret|token|passw(?:or)?d|pwd|access[_\-]?key|private[_\-]?key|"
    r"client[_\-]?secret|credentials?", re.I)


def _checked(kind: str, check: Callable[[str], bool]) -> Callable[["re.Match[str]"], str]:
    def repl(m: "re.Match[str]") -> str:
        return placeholder(kind) if check(m.group(0)) else m.group(0)
    return repl


def _card_check(text: str) -> bool:
    d = _digits(text)
    return 13 <= len(d) <= 19 and luhn_ok(d)


def _names_secret(m: "re.Match[str]") -> bool:
    name = m.group("name").lower()
    # "max_tokens=1024", "total tokens: 4096" are token counts, not secrets.
    return bool(_SECRET_KEY_NAME.search(name)) and not name.endswith(("tokens", "token_count", "tokens_used"))


def _secret_repl(m: "re.Match[str]") -> str:
    if not _names_secret(m):
        return m.group(0)
    return m.group("key") + m.group("q") + placeholder("secret") + m.group("q")


_VALUE_TAIL = re.compile(r"[^\s\"',;&]*+")


def _sub_secrets(pattern: "re.Pattern[str]", text: str) -> str:
    """Like pattern.sub(_secret_repl, text), but a key that names no secret does not swallow
    what follows it: in "note: api_key=XYZ" the scan goes on from "api_key", not past "XYZ".
    Values are capped in the pattern (so a rescan is bounded); a secret value longer than the
    cap is replaced up to its real end."""
    out: list[str] = []
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            break
        if _names_secret(m):
            tail = _VALUE_TAIL.match(text, m.end())     # matches everywhere (it may match nothing)
            end = m.end() if m.group("q") or tail is None else tail.end()
            out.append(text[pos:m.start()] + m.group("key") + m.group("q") + placeholder("secret") + m.group("q"))
            pos = end
        else:
            out.append(text[pos:m.start("q")])
            pos = m.start("q")
    out.append(text[pos:])
    return "".join(out)


def _phone_check(text: str) -> bool:
    return 7 <= len(_digits(text)) <= 15


_RULES: list[tuple[str, "re.Pattern[str]", Replacement]] = [
    ("private_key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
        re.S), placeholder("private_key")),
    ("bearer_token", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*"),
     r"\1 " + placeholder("bearer_token")),
    ("basic_auth", re.compile(r"(?i)\b(basic)\s+[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])"),
     r"\1 " + placeholder("basic_auth")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}"),
     placeholder("jwt")),
    ("api_key", re.compile(
        r"\bsk-ant-[A-Za-z0-9_\-]{16,}"                      # Anthropic
        r"|\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"  # OpenAI
        r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"                    # AWS access key id
        r"|\bAIza[0-9A-Za-z_\-]{35}"                         # Google
        r"|\bgh[pousr]_[A-Za-z0-9]{36,}"                     # GitHub tokens
        r"|\bgithub_pat_[A-Za-z0-9_]{22,}"                   # GitHub fine-grained
        r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}"                  # Slack
        r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"           # Stripe
        r"|\bhf_[A-Za-z0-9]{30,}"                            # Hugging Face
    ), placeholder("api_key")),
    ("url_credentials", re.compile(
        r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*+://)[^\s:/@]++:[^\s/@]++@"),
     r"\1" + placeholder("url_credentials") + "@"),
    # key=value, key: value, "key": "value". The key is one maximal token (no
    # backtracking, so long runs of word characters stay linear); whether it
    # names a secret is decided in _secret_repl.
    ("secret", re.compile(
        r"(?P<key>(?P<kq>[\"']?)(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z0-9_.\-]++)(?P=kq)"
        r"[ \t]*+[:=][ \t]*+)"
        r"(?P<q>[\"']?)(?P<val>(?!\[REDACTED:)[^\s\"',;&]{4,512})(?P=q)"),
     lambda m: _secret_repl(m)),
    ("email", re.compile(
        r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b"),
     placeholder("email")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
     _checked("iban", iban_ok)),
    ("card", re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])"),
     _checked("card", _card_check)),
    ("us_ssn", re.compile(
        r"\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b"
        r"|(?i:\b(?:ssn|social security(?: number)?)\b[\s:#-]*)\d{9}\b"),
     placeholder("us_ssn")),
    ("uk_nino", re.compile(
        r"(?i)\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
     placeholder("uk_nino")),
    ("ca_sin", re.compile(r"\b[0-79]\d{2}([- ])\d{3}\1\d{3}\b"),
     _checked("ca_sin", lambda s: luhn_ok(_digits(s)))),
    ("in_aadhaar", re.compile(r"\b[2-9]\d{3}([ \-])\d{4}\1\d{4}\b"),
     _checked("in_aadhaar", lambda s: verhoeff_ok(_digits(s)))),
    ("phone", re.compile(
        r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){1,5}(?:[ .\-]?\d{2,5})(?!\w)"
        r"|(?<![\w(])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[.\-])[2-9]\d{2}[.\-]\d{4}(?![\w\-])"
        r"|(?<![\w.\-])[2-9]\d{2} [2-9]\d{2} \d{4}(?![\w])"),
     _checked("phone", _phone_check)),
]

KINDS: tuple[str, ...] = tuple(kind for kind, _, _ in _RULES)


def redact(text: str, extra_patterns: Iterable["re.Pattern[str]"] = ()) -> str:
    """Return ``text`` with every recognised secret or personal datum replaced.

    ``extra_patterns`` (compiled regexes, e.g. from configuration) are applied
    last; their matches become ``[REDACTED:custom]``.
    """
    if not text:
        return text
    for kind, pattern, repl in _RULES:
        text = _sub_secrets(pattern, text) if kind == "secret" else pattern.sub(repl, text)
    for pattern in extra_patterns:
        text = pattern.sub(placeholder("custom"), text)
    return text
