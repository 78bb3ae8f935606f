"""A loopback stand-in for the watcher's ingest API (`POST /deployments`), for `da-ci record`.

    with IngestStub(statuses=[503, 200]) as ingest:
        ...  # DA_INGEST__URL=ingest.url
        assert ingest.requests[-1].body["deployment"] == "checkout"

Answers each request with the next status of `statuses` (the last one repeats), records the
method, path, headers and JSON body of every request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.stubs.loopback import JsonHandler, LoopbackServer, LoopbackStub, RecordingState
from tests.stubs.loopback import RecordedRequest as RecordedRequest


@dataclass(kw_only=True)
class _State(RecordingState):
    statuses: list[int]


class _Handler(JsonHandler):
    server: LoopbackServer[_State]

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        state = self.server.state
        raw = self.read_body()
        with state.lock:
            state.record("POST", self.path, dict(self.headers.items()), json.loads(raw or "null"))
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
        payload = {"ok": True} if status < 300 else {"detail": f"stub answered {status}"}
        self.send_json(status, payload)


class IngestStub(LoopbackStub[_State]):
    """The stub server; use as a context manager. `url` is the ingest base URL."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        super().__init__(_Handler, _State(statuses=list(statuses or [200])))

    @property
    def url(self) -> str:
        return self.origin

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.state.requests)
