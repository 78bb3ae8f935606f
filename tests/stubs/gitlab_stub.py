"""A loopback GitLab REST API (v4) for tests: real HTTP for the real python-gitlab.

    with GitLabStub() as gl:
        gl.add_project("shop/app", project_id=42)
        gl.add_merge_request("shop/app", iid=7, source_branch="feature", sha="abc")
        client = gitlab.Gitlab(gl.url, private_token=gl.token)
        ...
        assert gl.notes("shop/app", 7)[0]["body"].startswith("<!-- deploy-assistant:")

Implements `GET /user`, `GET /projects/:id`, `GET /projects/:id/merge_requests/:iid`, notes
list/create/update, and `GET /projects/:id/repository/commits/:sha/merge_requests`, with JSON
content types and `id`/`iid` fields. `:id` is a number or a URL-encoded path. `PRIVATE-TOKEN`
must equal `token`; `JOB-TOKEN` equal to `job_token` may only read (like GitLab: job tokens
cannot write notes). Note bodies over 1,000,000 characters are refused and kept in `violations`.
Faults: `fail_next(429|500, times)` (429 carries `Retry-After: 0`), `delay_next(seconds)`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.stubs.loopback import JsonHandler, LoopbackServer, LoopbackStub, RecordingState
from tests.stubs.loopback import RecordedRequest as RecordedRequest

NOTE_MAX_CHARS = 1_000_000
BOT_USER = {"id": 900, "username": "project_42_bot", "name": "Deploy Assistant"}


@dataclass(kw_only=True)
class _State(RecordingState):
    token: str
    job_token: str
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    merge_requests: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    commit_mrs: dict[tuple[int, str], list[tuple[int, int]]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    faults: list[tuple[int, float]] = field(default_factory=list)
    next_note_id: int = 1000
    clock: int = 0

    def project(self, ref: str) -> dict[str, Any] | None:
        for project in self.projects.values():
            if ref in (str(project["id"]), project["path_with_namespace"]):
                return project
        return None


class _Handler(JsonHandler):
    server: LoopbackServer[_State]

    def _handle(self) -> None:
        state = self.server.state
        raw = self.read_body()
        body = json.loads(raw) if raw.startswith("{") else {}
        with state.lock:
            state.record(self.command, self.path, dict(self.headers.items()), body)
            status, delay = state.faults.pop(0) if state.faults else (0, 0.0)
        if delay:
            time.sleep(delay)
        if status or self._denied():
            retry_after = {"Retry-After": "0"} if status == 429 else {}
            self.send_json(status or 401, {"message": f"{status or 401} stub"}, retry_after)
            return
        # Split the still-encoded path first: a project path arrives as group%2Fproject.
        segments = [unquote(s) for s in urlsplit(self.path).path.split("/")[3:]]
        with state.lock:
            code, payload = _route(state, self.command, segments, body)
        self.send_json(code, payload)

    do_GET = do_POST = do_PUT = _handle  # noqa: N815 - http.server dispatches on these names

    def _denied(self) -> bool:
        state = self.server.state
        if self.headers.get("PRIVATE-TOKEN") == state.token:
            return False
        job = self.headers.get("JOB-TOKEN")
        return not (job == state.job_token and self.command == "GET")


def _route(state: _State, verb: str, seg: list[str], body: dict[str, Any]) -> tuple[int, Any]:
    """Dispatch `/api/v4/<seg...>`; returns (status, JSON payload)."""
    if seg == ["user"]:
        return 200, BOT_USER
    if len(seg) < 2 or seg[0] != "projects":
        return 404, {"message": "404 Not Found"}
    project = state.project(seg[1])
    if project is None:
        return 404, {"message": "404 Project Not Found"}
    pid, rest = int(project["id"]), seg[2:]
    if not rest:
        return 200, project
    if rest[:2] == ["repository", "commits"] and len(rest) == 4 and rest[3] == "merge_requests":
        keys = state.commit_mrs.get((pid, rest[2]), [])
        return 200, [state.merge_requests[k] for k in keys]
    key = (
        (pid, int(rest[1]))
        if rest[0] == "merge_requests" and rest[1:2] and rest[1].isdigit()
        else (0, 0)
    )
    if key not in state.merge_requests:
        return 404, {"message": "404 Not found"}
    if len(rest) == 2:
        return 200, state.merge_requests[key]
    if rest[2] == "notes":
        return _notes(state, verb, key, rest[3:], body)
    return 404, {"message": "404 Not found"}


def _notes(
    state: _State, verb: str, key: tuple[int, int], rest: list[str], body: dict[str, Any]
) -> tuple[int, Any]:
    notes = state.notes.setdefault(key, [])
    if verb == "GET" and not rest:
        return 200, sorted(notes, key=lambda n: n["updated_at"], reverse=True)
    text = str(body.get("body", ""))
    if verb in ("POST", "PUT") and (not text or len(text) > NOTE_MAX_CHARS):
        state.violations.append(f"note body of {len(text)} chars")
        return 400, {"message": {"body": ["is too long (maximum is 1000000 characters)"]}}
    state.clock += 1
    stamp = f"2026-01-01T00:{state.clock // 60:02d}:{state.clock % 60:02d}.000Z"
    if verb == "POST" and not rest:
        state.next_note_id += 1
        note = {"id": state.next_note_id, "body": text, "author": BOT_USER, "system": False}
        note.update(internal=bool(body.get("internal")), created_at=stamp, updated_at=stamp)
        notes.append(note)
        return 201, note
    match = [n for n in notes if rest and str(n["id"]) == rest[0]]
    if not match:
        return 404, {"message": "404 Note Not Found"}
    if verb == "PUT":
        if match[0]["author"]["id"] != BOT_USER["id"]:
            return 403, {"message": "403 Forbidden"}
        match[0].update(body=text, updated_at=stamp)
    return 200, match[0]


class GitLabStub(LoopbackStub[_State]):
    """The stub server; use as a context manager. `url` is the base URL for gitlab.Gitlab."""

    def __init__(self, token: str = "glpat-test", job_token: str = "job-token-test") -> None:
        self.token = token
        self.job_token = job_token
        super().__init__(_Handler, _State(token=token, job_token=job_token))

    @property
    def url(self) -> str:
        return self.origin

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.state.requests)

    @property
    def violations(self) -> list[str]:
        return list(self.state.violations)

    def add_project(self, path: str, project_id: int = 42) -> dict[str, Any]:
        project = {
            "id": project_id,
            "path_with_namespace": path,
            "web_url": f"{self.url}/{path}",
            "default_branch": "main",
        }
        self.state.projects[project_id] = project
        return project

    def _pid(self, path: str) -> int:
        project = self.state.project(path)
        assert project is not None, f"add_project({path!r}) first"
        return int(project["id"])

    def add_merge_request(
        self, path: str, iid: int, *, commits: tuple[str, ...] = (), **fields: Any
    ) -> dict[str, Any]:
        """Add an MR; `fields` override its attributes (`state`, `sha`, `merge_commit_sha`…).

        `commits/:sha/merge_requests` finds it by `sha`, merge and squash SHAs and `commits`.
        """
        pid = self._pid(path)
        mr: dict[str, Any] = {
            "id": pid * 1000 + iid,
            "iid": iid,
            "project_id": pid,
            "state": "opened",
            "source_branch": "feature",
            "target_branch": "main",
            "sha": "0" * 40,
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "merged_at": None,
            "web_url": f"{self.url}/{path}/-/merge_requests/{iid}",
        }
        mr.update(fields)
        shas = {mr["sha"], mr["merge_commit_sha"], mr["squash_commit_sha"], *commits} - {None}
        with self.state.lock:
            self.state.merge_requests[(pid, iid)] = mr
            for sha in shas:
                self.state.commit_mrs.setdefault((pid, str(sha)), []).append((pid, iid))
        return mr

    def add_note(self, path: str, iid: int, body: str, author_id: int = 7) -> dict[str, Any]:
        """A note by someone else (a human), which the notifier must never edit."""
        stamp = "2025-12-31T00:00:00.000Z"
        note = {
            "id": 500 + len(self.all_notes),
            "body": body,
            "author": {"id": author_id, "username": "human"},
            "system": False,
            "created_at": stamp,
            "updated_at": stamp,
        }
        with self.state.lock:
            self.state.notes.setdefault((self._pid(path), iid), []).append(note)
        return note

    def notes(self, path: str, iid: int) -> list[dict[str, Any]]:
        """The notes of one MR, in creation order."""
        return list(self.state.notes.get((self._pid(path), iid), []))

    @property
    def all_notes(self) -> list[dict[str, Any]]:
        """Every note on every MR, in creation order per MR."""
        return [n for notes in self.state.notes.values() for n in notes]

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with HTTP `status` (429 sends Retry-After: 0)."""
        with self.state.lock:
            self.state.faults.extend((status, 0.0) for _ in range(times))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep `seconds` before answering the next `times` requests (to exceed a timeout)."""
        with self.state.lock:
            self.state.faults.extend((0, seconds) for _ in range(times))
