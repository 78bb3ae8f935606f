"""One watch stream: history filtered for the request, written as chunked HTTP/1.1 JSON lines.

Semantics follow the API server: resourceVersion "0" or unset starts with synthetic ADDED events
for what exists; a version older than the kept history gets one ERROR event (410 Expired) and
the end of the stream; an object entering or leaving the selectors is ADDED/DELETED for this
watcher; `allowWatchBookmarks` adds BOOKMARK events every `bookmark_interval_seconds` (real time)
of silence and at the timeout. `cut_watches` drops the connection without the terminating chunk.
"""

from __future__ import annotations

import json
import logging
import socket
from io import BufferedIOBase
from typing import TYPE_CHECKING

from deploy_assistant.sim.objects import CLUSTER_SCOPED, ApiError, Obj
from deploy_assistant.sim.routes import Request, go_bool, int_param
from deploy_assistant.sim.state import HistoryEntry
from deploy_assistant.sim.views import field_filter, label_filter, status_body, type_meta

if TYPE_CHECKING:  # the server owns the watches; importing it at run time would be a cycle
    from deploy_assistant.sim.server import ApiServer

log = logging.getLogger(__name__)

DEFAULT_WATCH_TIMEOUT_SECONDS = 1800.0
WATCH_POLL_SECONDS = 0.25


class ChunkedWriter:
    """The body of one `Transfer-Encoding: chunked` response, after its headers were sent."""

    def __init__(self, wfile: BufferedIOBase, connection: socket.socket) -> None:
        self._wfile = wfile
        self._connection = connection
        self.dropped = False

    def chunk(self, data: bytes) -> None:
        """One chunk; empty data writes nothing (an empty chunk would end the body)."""
        if data:
            self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        """The terminating chunk: the body is complete and the connection can be reused."""
        self._wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """Close the connection mid-body, as a failing API server or proxy does."""
        self.dropped = True
        try:
            self._connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("sim api: connection already gone")


class Watcher:
    """One watch request; raises ApiError (400) before anything is sent when the query is bad."""

    def __init__(self, api: ApiServer, req: Request) -> None:
        self.api = api
        self.state = api.state
        self.req = req
        self.labels_ok = label_filter(req.query.get("labelSelector"))
        self.fields_ok = field_filter(req.query.get("fieldSelector"))
        timeout = float(req.query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_SECONDS)
        clock = api.real_clock
        self.deadline = clock.monotonic() + timeout / api.watch_time_scale
        self.bookmarks = go_bool(req.query.get("allowWatchBookmarks"), "allowWatchBookmarks")
        rv_text = req.query.get("resourceVersion") or "0"
        with self.state.cond:
            self.epoch = self.state.watch_epoch
            if rv_text == "0":
                self.initial, self.since = self.current_state(), self.state.resource_version
            else:
                self.initial, self.since = [], int_param(req.query, "resourceVersion") or 0

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        scoped = self.req.namespace and self.req.plural not in CLUSTER_SCOPED
        if scoped and meta.get("namespace") != self.req.namespace:
            return False
        return bool(self.labels_ok(meta.get("labels") or {}) and self.fields_ok(self.req.view(obj)))

    def current_state(self) -> list[Obj]:
        """Synthetic ADDED events for what exists now (watch from resourceVersion 0 or unset)."""
        items, _ = self.state.list(self.req.plural, self.req.namespace)
        return [
            {"type": "ADDED", "object": self.req.view(item)} for item in items if self.matches(item)
        ]

    def translate(self, entry: HistoryEntry) -> Obj | None:
        """The event this watcher sees; objects leaving/entering the filter are DELETED/ADDED."""
        _, plural, event_type, obj, prev = entry
        if plural != self.req.plural:
            return None
        now_matches = self.matches(obj)
        if event_type == "MODIFIED":
            before = self.matches(prev)
            if now_matches != before:
                event_type = "ADDED" if now_matches else "DELETED"
            elif not now_matches:
                return None
        elif not now_matches:
            return None
        return {"type": event_type, "object": self.req.view(obj)}

    def bookmark(self, rv: int) -> Obj:
        api_version, kind = type_meta(self.req.plural, self.req.events_v1)
        meta = {"resourceVersion": str(rv)}
        return {
            "type": "BOOKMARK",
            "object": {"kind": kind, "apiVersion": api_version, "metadata": meta},
        }

    def next_entries(
        self, since: int, epoch: int, wake_at: float
    ) -> tuple[str, list[HistoryEntry]]:
        """Wait for history after `since`: ("ok", entries) or ("cut" | "closed" | "expired", [])."""
        state, clock = self.state, self.api.real_clock
        with state.cond:
            while True:
                if self.api.closing:
                    return "closed", []
                if state.watch_epoch != epoch:
                    return "cut", []
                try:
                    entries = state.history_entries(since)
                except ApiError:
                    return "expired", []
                remaining = wake_at - clock.monotonic()
                if entries or remaining <= 0:
                    return "ok", entries
                state.cond.wait(min(remaining, WATCH_POLL_SECONDS))

    def stream(self, out: ChunkedWriter) -> None:
        """Write the initial events, then history as it happens, until the watch ends."""
        for added in self.initial:
            self._send(out, added)
        clock = self.api.real_clock
        interval = self.api.bookmark_interval_seconds
        since, next_bookmark = self.since, clock.monotonic() + interval
        while True:
            wake_at = min(self.deadline, next_bookmark) if self.bookmarks else self.deadline
            outcome, entries = self.next_entries(since, self.epoch, wake_at)
            if outcome == "cut":
                out.drop()
                return
            if outcome == "expired":
                self._send_expired(out, since)
            if outcome != "ok":
                out.end()
                return
            for entry in entries:
                since = entry[0]
                event = self.translate(entry)
                if event is not None:
                    self._send(out, event)
            now = clock.monotonic()
            if now >= self.deadline:
                if self.bookmarks:
                    self._send(out, self.bookmark(since))
                out.end()
                return
            if entries:
                next_bookmark = now + interval
            elif self.bookmarks and now >= next_bookmark:
                self._send(out, self.bookmark(since))
                next_bookmark = now + interval

    def _send(self, out: ChunkedWriter, event: Obj) -> None:
        out.chunk(json.dumps(event).encode() + b"\n")

    def _send_expired(self, out: ChunkedWriter, since: int) -> None:
        try:
            self.state.history_entries(since)
        except ApiError as error:
            self._send(out, {"type": "ERROR", "object": status_body(error)})
