"""Log template miner: multi-line events, generic masking, exact fast path, frequency grouping.

Pipeline for one container log:

1. `group_events` folds continuation lines into their event, so a Java trace (`at …`,
   `Caused by:`, `... N more`), a Python traceback, a Go panic with its goroutine dump or a Node
   stack (`    at …`) is one event, not many unrelated "lines".
2. Each single-line event is masked (`masking.mask_line`); identical masked strings share one
   entry (the exact-match fast path, a dict lookup). Traces are keyed by a fingerprint (masked
   header, exception types, first frames) and deduplicated the same way.
3. The distinct masked strings are grouped by token count and, inside a length, by the most
   common token-frequency pattern (the "longest common pattern" idea of Brain, Yu et al. 2023):
   the tokens shared by many lines are the template, the rare ones are variables, unless a
   rare column holds only a few repeated values (then it is a constant that splits the group).

Every template keeps its count and its first and last raw event. Memory is bounded by
`max_distinct` distinct masked strings; later unseen shapes are counted in one overflow group.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from deploy_assistant.reduce.evidence import fingerprint_trace, is_continuation, starts_trace
from deploy_assistant.reduce.masking import VARIABLE, mask_line

OVERFLOW_TEMPLATE = "(more distinct lines than the miner keeps)"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log event: a single line, or a whole multi-line trace. `index` is its first line."""

    index: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_trace(self) -> bool:
        return len(self.lines) > 1


@dataclass(slots=True)
class TemplateStats:
    """A mined template: how often it occurred and its first and last raw events."""

    template: str
    count: int
    first: LogEvent
    last: LogEvent


@dataclass(slots=True)
class _Entry:
    count: int
    first: LogEvent
    last: LogEvent


def group_events(lines: Iterable[str], max_event_lines: int = 200) -> Iterator[LogEvent]:
    """Yield events in order; continuation lines join the event before them (capped in size)."""
    current: list[str] = []
    start = 0
    in_trace = False
    for index, line in enumerate(lines):
        joins = bool(current) and len(current) < max_event_lines and is_continuation(line, in_trace)
        if joins:
            current.append(line)
            continue
        if current:
            yield LogEvent(start, tuple(current))
        current, start = [line], index
        in_trace = starts_trace(line)
    if current:
        yield LogEvent(start, tuple(current))


@dataclass
class TemplateMiner:
    """Accumulates events; `templates()` groups them. Not thread-safe; one miner per log."""

    max_distinct: int = 20_000
    _lines: dict[str, _Entry] = field(default_factory=dict)
    _traces: dict[str, _Entry] = field(default_factory=dict)
    _overflow: _Entry | None = None

    def add(self, event: LogEvent) -> None:
        if event.is_trace:
            key, table = fingerprint_trace(event.lines), self._traces
        else:
            key, table = mask_line(event.lines[0]), self._lines
        entry = table.get(key)
        if entry is not None:
            entry.count += 1
            entry.last = event
        elif len(self._lines) + len(self._traces) < self.max_distinct:
            table[key] = _Entry(1, event, event)
        elif self._overflow is None:
            self._overflow = _Entry(1, event, event)
        else:
            self._overflow.count += 1
            self._overflow.last = event

    def templates(self) -> list[TemplateStats]:
        """Templates ordered by their first occurrence."""
        keys = list(self._lines)
        grouped = template_keys(keys, [self._lines[k].count for k in keys])
        merged: dict[str, TemplateStats] = {}
        for key, template in zip(keys, grouped, strict=True):
            _merge_into(merged, template, self._lines[key])
        for key, entry in self._traces.items():
            _merge_into(merged, key, entry)
        if self._overflow is not None:
            _merge_into(merged, OVERFLOW_TEMPLATE, self._overflow)
        return sorted(merged.values(), key=lambda t: t.first.index)


def _merge_into(merged: dict[str, TemplateStats], template: str, entry: _Entry) -> None:
    stats = merged.get(template)
    if stats is None:
        merged[template] = TemplateStats(template, entry.count, entry.first, entry.last)
        return
    stats.count += entry.count
    if entry.first.index < stats.first.index:
        stats.first = entry.first
    if entry.last.index > stats.last.index:
        stats.last = entry.last


def mine_templates(lines: Iterable[str], max_distinct: int = 20_000) -> list[TemplateStats]:
    """Group `lines` into events and mine their templates (ordered by first occurrence)."""
    return mine_event_templates(group_events(lines), max_distinct)


def mine_event_templates(
    events: Iterable[LogEvent], max_distinct: int = 20_000
) -> list[TemplateStats]:
    """Mine the templates of already grouped events (ordered by first occurrence)."""
    miner = TemplateMiner(max_distinct=max_distinct)
    for event in events:
        miner.add(event)
    return miner.templates()


def template_keys(masked: Sequence[str], weights: Sequence[int] | None = None) -> list[str]:
    """Return the template of each distinct masked line (same order). Pure, deterministic."""
    token_lists = [m.split() for m in masked]
    counts = weights if weights is not None else [1] * len(masked)
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, tokens in enumerate(token_lists):
        by_length[len(tokens)].append(i)
    result = [""] * len(masked)
    for members in by_length.values():
        _group_same_length(token_lists, counts, members, result)
    return result


def _group_same_length(
    token_lists: list[list[str]], counts: Sequence[int], members: list[int], result: list[str]
) -> None:
    frequency: Counter[tuple[int, str]] = Counter()
    for i in members:
        weight = counts[i]
        for position_token in enumerate(token_lists[i]):
            frequency[position_token] += weight
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i in members:
        groups[_common_pattern(token_lists[i], frequency)].append(i)
    for pattern, group in groups.items():
        split_columns = _constant_columns(pattern, group, token_lists, counts)
        for i in group:
            tokens = token_lists[i]
            template = list(pattern)
            for column in split_columns:
                template[column] = tokens[column]
            result[i] = " ".join(template)


def _common_pattern(tokens: list[str], frequency: Counter[tuple[int, str]]) -> tuple[str, ...]:
    """Tokens at least as frequent as the most common frequency value are the constants."""
    freqs = [frequency[(p, t)] for p, t in enumerate(tokens)]
    by_value = Counter(f for f, t in zip(freqs, tokens, strict=True) if t != VARIABLE)
    if not by_value:
        return tuple(tokens)
    anchor = max(by_value.items(), key=lambda item: (item[1], item[0]))[0]
    return tuple(
        t if f >= anchor and t != VARIABLE else VARIABLE for t, f in zip(tokens, freqs, strict=True)
    )


def _constant_columns(
    pattern: tuple[str, ...], group: list[int], token_lists: list[list[str]], counts: Sequence[int]
) -> list[int]:
    """Variable columns whose values are few, or all repeated, are constants after all."""
    columns: list[int] = []
    for column, token in enumerate(pattern):
        if token != VARIABLE:
            continue
        values: Counter[str] = Counter()
        for i in group:
            values[token_lists[i][column]] += counts[i]
        if VARIABLE in values:
            continue
        if len(values) < 3 or min(values.values()) >= 2:
            columns.append(column)
    return columns


def parse_loghub(lines: Sequence[str], system: str | None) -> list[tuple[Hashable, str]]:
    """Loghub benchmark entry point: one (group, template) per line, one generic config.

    `system` is ignored on purpose: the product cannot know which application wrote a log.
    """
    del system
    masked_of: dict[str, str] = {}
    masked = []
    for line in lines:
        m = masked_of.get(line)
        if m is None:
            m = masked_of[line] = mask_line(line)
        masked.append(m)
    weights = Counter(masked)
    distinct = list(weights)
    template_of = dict(
        zip(distinct, template_keys(distinct, [weights[d] for d in distinct]), strict=True)
    )
    return [(template_of[m], template_of[m]) for m in masked]
