"""What in a log counts as evidence: error lines, multi-line traces and their deepest cause.

Recognises Java (`at …`, `Caused by:`, `... N more`, `Suppressed:`), Python (`Traceback …`
through the final `XxxError: …`, chained tracebacks), Go (`panic:` plus the goroutine dump) and
Node (`    at …`) traces. All checks are precompiled regexes anchored at the line start.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from deploy_assistant.reduce.masking import mask_line

# Lines that continue whatever event came before them, in any language.
_ALWAYS_CONTINUES = re.compile(
    r"\s+at \S"  # Java frame (tab) and Node frame (4 spaces)
    r"|Caused by: "
    r"|\s*\.\.\. \d+ (?:more|common frames omitted)"
    r"|\s+Suppressed: "
    r"|\s+Caused by: "
)
_TRACE_START = re.compile(r"Traceback \(most recent call last\):|panic: |fatal error: ")
# Inside a Python traceback or a Go dump: indented lines, blank lines, chaining sentences,
# goroutine headers, Go frames `pkg.fn(...)`, and the final `SomeError: message` line.
_INSIDE_TRACE = re.compile(
    r"\s|$"
    r"|Traceback \(most recent call last\):"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|goroutine \d+ \["
    r"|created by "
    r"|\[signal "
    r"|exit status \d+"
    r"|[\w.$/*()-]+\(.*\)$"
    r"|[\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b[^\n]*$"
)
_EXCEPTION_NAME = re.compile(r"(?:Caused by: )?([\w.$]+(?:Exception|Error|Throwable|Failure))\b")
# Lower-case substrings that mark an error line; plain substring tests are far cheaper per line
# than one case-insensitive regex alternation.
_ERROR_WORDS = (
    "error",
    "exception",
    "fatal",
    "panic",
    "fail",
    "refused",
    "timed out",
    "timeout",
    "denied",
    "not found",
    "oomkill",
    "out of memory",
    "cannot",
    "unable",
    "traceback",
    "invalid",
    "unauthorized",
    "unauthorised",
    "forbidden",
    "no such",
)
_QUIET_LEVEL = re.compile(
    r"\b(?:DEBUG|TRACE|INFO)\b|level=(?:debug|info)|\"level\":\s*\"(?:debug|info)"
)


def starts_trace(line: str) -> bool:
    """True when `line` opens a Python traceback or a Go panic (which own their next lines)."""
    return _TRACE_START.match(line) is not None


def is_continuation(line: str, in_trace: bool) -> bool:
    """True when `line` belongs to the event before it."""
    if _ALWAYS_CONTINUES.match(line):
        return True
    return in_trace and _INSIDE_TRACE.match(line) is not None


def is_error_text(text: str) -> bool:
    """True for lines/events that read as errors (keywords, not at a quiet log level)."""
    lowered = text.lower()
    if not any(word in lowered for word in _ERROR_WORDS):
        return False
    head = text[:200]
    return _QUIET_LEVEL.search(head) is None or "Traceback" in text or "\n" in text


def exception_names(lines: Sequence[str]) -> list[str]:
    """Exception type names in order of appearance (the header's, then each cause's)."""
    names: list[str] = []
    for line in lines:
        if line.startswith(("\tat ", "    at ", "  File ")):
            continue
        match = _EXCEPTION_NAME.search(line)
        if match and (not names or names[-1] != match.group(1)):
            names.append(match.group(1))
    return names


def fingerprint_trace(lines: Sequence[str]) -> str:
    """Template key of a trace: masked first line, exception types and the first three frames."""
    frames = [mask_line(line.strip()) for line in lines[1:] if _is_frame(line)][:3]
    parts = [mask_line(lines[0]), *exception_names(lines[1:]), *frames]
    return " | ".join(parts)


def _is_frame(line: str) -> bool:
    return line.startswith(("\tat ", "    at ", '  File "', "\t/"))


def deepest_cause(lines: Sequence[str]) -> str | None:
    """The innermost cause of a trace: the last `Caused by:` line (Java), the final exception
    line of the last traceback (Python), or the `panic:` line (Go). None if there is none."""
    causes = [line for line in lines if line.lstrip().startswith("Caused by:")]
    if causes:
        return causes[-1].strip()
    if any(line.startswith("Traceback") for line in lines):
        for line in reversed(lines):
            if line and not line[0].isspace() and _EXCEPTION_NAME.match(line):
                return line
    for line in lines:
        if line.startswith(("panic: ", "fatal error: ")):
            return line
    return None
