"""Template miner: masking, grouping, multi-line events (Java, Python, Go, Node)."""

from __future__ import annotations

from deploy_assistant.reduce.evidence import deepest_cause
from deploy_assistant.reduce.masking import mask_line
from deploy_assistant.reduce.templates import (
    TemplateMiner,
    group_events,
    mine_templates,
    parse_loghub,
    template_keys,
)
from tests.reduce.reduce_fixtures import DEEPEST_CAUSE, JAVA_TRACE

PYTHON_TRACE = """\
Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    main()
  File "/app/db.py", line 40, in connect
    raise ConnectionError("db down")
ConnectionError: db down

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/main.py", line 14, in <module>
    sys.exit(fail())
RuntimeError: could not start: db down"""

GO_PANIC = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]

goroutine 1 [running]:
main.(*Server).Start(0x0)
\t/app/server.go:42 +0x1c
main.main()
\t/app/main.go:17 +0x85
exit status 2"""

NODE_STACK = """\
Error: connect ECONNREFUSED 10.0.0.12:6379
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)
    at Socket.emit (node:events:517:28)"""


def test_mask_line_masks_numbers_ips_uuids_paths_durations_and_hosts() -> None:
    line = (
        "2026-11-27T10:00:00Z took 35ms from 10.0.0.12:8080 id=7c9e6679-7425-40de-944b-"
        "e07fc1f90ae7 file /var/lib/app/data.db host db.shop.svc.cluster.local"
    )
    masked = mask_line(line)
    for variable in ("35ms", "10.0.0.12", "7c9e6679", "/var/lib/app", "db.shop.svc"):
        assert variable not in masked
    assert "took" in masked
    assert "file" in masked


def test_mask_line_keeps_level_values() -> None:
    assert mask_line("level=error msg=boom") == "level=error msg=<*>"


def test_lines_differing_only_in_variables_share_a_template() -> None:
    lines = [f"GET /api/orders/{i} 200 in {i * 3}ms" for i in range(20)]
    lines += ["cache warmed"] * 3
    templates = mine_templates(lines)
    assert [t.count for t in templates] == [20, 3]
    assert templates[0].first.text == lines[0]
    assert templates[0].last.text == lines[19]


def test_rare_word_column_becomes_a_variable_but_repeated_values_split() -> None:
    users = ["root", "admin", "guest", "oracle", "test", "ftp", "git", "www"]
    lines = [f"Invalid user {u} from 10.0.0.{i}" for i, u in enumerate(users)]
    lines += [f"VM {state} (Lifecycle Event)" for state in ["Started", "Paused"] * 4]
    keys = template_keys([mask_line(line) for line in lines])
    assert len(set(keys[:8])) == 1
    assert len(set(keys[8:])) == 2


def test_java_trace_is_one_event_and_deepest_cause_is_found() -> None:
    events = list(group_events(JAVA_TRACE.split("\n")))
    assert len(events) == 2  # the ERROR log line, then the whole exception
    assert events[1].lines[0].startswith("org.springframework")
    assert deepest_cause(events[1].lines) == DEEPEST_CAUSE


def test_python_chained_traceback_is_one_event() -> None:
    lines = ["INFO starting", *PYTHON_TRACE.split("\n"), "INFO after"]
    events = list(group_events(lines))
    assert [len(e.lines) for e in events] == [1, len(PYTHON_TRACE.split("\n")), 1]
    assert deepest_cause(events[1].lines) == "RuntimeError: could not start: db down"


def test_go_panic_with_goroutine_dump_is_one_event() -> None:
    events = list(group_events(["INFO up", *GO_PANIC.split("\n")]))
    assert len(events) == 2
    assert deepest_cause(events[1].lines) is not None
    assert events[1].lines[-1] == "exit status 2"


def test_node_stack_is_one_event() -> None:
    events = list(group_events(NODE_STACK.split("\n")))
    assert len(events) == 1


def test_identical_traces_are_counted_in_one_template() -> None:
    lines = [*JAVA_TRACE.split("\n"), "INFO retry", *JAVA_TRACE.split("\n")]
    templates = mine_templates(lines)
    trace = [t for t in templates if t.first.is_trace]
    assert len(trace) == 1
    assert trace[0].count == 2


def test_miner_overflow_is_counted_not_kept() -> None:
    miner = TemplateMiner(max_distinct=2)
    for event in group_events(["alpha one", "beta two words", "gamma x y z", "delta"]):
        miner.add(event)
    templates = miner.templates()
    assert sum(t.count for t in templates) == 4
    assert len(templates) == 3


def test_parse_loghub_returns_one_pair_per_line() -> None:
    lines = [
        "Receiving block blk_1 src: /10.0.0.1:5000",
        "Receiving block blk_2 src: /10.0.0.2:5000",
    ]
    result = parse_loghub(lines, "HDFS")
    assert len(result) == 2
    assert result[0][0] == result[1][0]
    assert "<*>" in result[0][1]
