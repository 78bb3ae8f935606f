"""Token budget: estimate (characters / 4 of the context JSON) and text cutting.

The estimate is taken over `context_json`, the exact serialisation the analysis sends to the
LLM, so `ReducedContext.estimated_tokens <= budget_tokens` is a promise about the real payload.
"""

from __future__ import annotations

from collections.abc import Callable

from deploy_assistant.models import ReducedContext

CHARS_PER_TOKEN = 4
_CUT_MARK = " …[cut {n} chars]… "


def context_json(reduced: ReducedContext) -> str:
    """The serialisation the analysis chains receive as `context_json`."""
    return reduced.model_dump_json(exclude_defaults=True)


def estimate_tokens(reduced: ReducedContext) -> int:
    """Characters / 4, rounded up, of `context_json` with the estimate field at its widest."""
    widest = reduced.model_copy(update={"estimated_tokens": max(reduced.budget_tokens, 1)})
    return -(-len(context_json(widest)) // CHARS_PER_TOKEN)


def cut_middle(text: str, max_chars: int) -> str:
    """`text` cut in the middle to at most `max_chars` characters, saying how much was cut."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 0:
        return ""
    mark = _CUT_MARK.format(n=len(text) - max_chars)
    if max_chars <= len(mark) + 8:
        # Too short for the mark: keep both ends (an image tag or an exception message).
        keep = max_chars - 1
        return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :]
    keep = max_chars - len(mark)
    head = keep * 2 // 3
    return text[:head] + mark + text[len(text) - (keep - head) :]


def largest_fitting(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with fits(n), assuming fits is monotone (True then False)."""
    if high < low or not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
