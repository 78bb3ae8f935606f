"""Variable masking for log template mining: one generic configuration for every application.

`mask_line` replaces the parts of a log line that vary between occurrences of the same event
(numbers, hex ids, UUIDs, IPs, timestamps, durations and sizes, paths, host names, `key=value`
values) with `<*>`, then collapses runs of variables so that variable-length lists (`IRQs 3 4 5`)
keep one shape. All work is done by a few precompiled regexes with constant replacements, so the
cost is linear in the line length.
"""

from __future__ import annotations

import re

VARIABLE = "<*>"

_DELIMS = r"""\s=:,;()\[\]{}<>"'|"""

# Whole-phrase variables first (they contain spaces or delimiters the token pass would split).
_PHRASES = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"\s+\d+\s+\d\d:\d\d:\d\d(?:\s+\d{4})?"
    r"|\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
    r"|\b\d+(?:\.\d+)?\s?(?:ms|us|µs|ns|sec|secs|seconds|s|min|KB|MB|GB|TB|KiB|MiB|GiB|B)\b"
)

# `key=value` values are variables, except for keys whose values name the kind of event. The
# excluded keys are look-behinds so that the replacement is a constant (no template expansion).
_KEEP_KEYS = ("level", "lvl", "severity", "status", "state", "phase", "reason", "kind", "type")
_KEY_VALUE = re.compile(
    r"(?<=[\w.-])" + "".join(f"(?<!{key})" for key in _KEEP_KEYS) + r"=[^" + _DELIMS + r"]+"
)

# Whole phrases (first, so they win at the same start), then any token that holds a digit, an
# absolute path, or a dotted host name.
_TOKENS = re.compile(
    _PHRASES.pattern + "|"
    r"[^" + _DELIMS + r"]*\d[^" + _DELIMS + r"]*"
    r"|(?<![^" + _DELIMS + r"])/[^" + _DELIMS + r"]+"
    r"|\b[A-Za-z][\w-]*(?:\.[\w-]+){2,}"
)

_RUNS = re.compile(r"<\*>(?:[ ,:;._/-]*<\*>)+")


def mask_line(line: str) -> str:
    """Return `line` with its variable parts replaced by `<*>` (whitespace preserved)."""
    if "=" in line:
        line = _KEY_VALUE.sub("=" + VARIABLE, line)
    line = _TOKENS.sub(VARIABLE, line)
    if "()" in line:
        line = line.replace("()", "(" + VARIABLE + ")")
    if "<*>" in line:
        line = _RUNS.sub(VARIABLE, line)
    return line
