"""Peewee tables. The schema itself is created by the versioned migrations, not by peewee.

The classes are bound to no database: every query names its database when it runs
(`query.execute(db)`), so two stores (SQLite and MySQL, or two workers in one test) can live in
one process without rebinding global state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import peewee

_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UtcDateTimeField(peewee.DateTimeField):
    """Aware UTC in Python, naive UTC with microseconds in the table (`DATETIME(6)`).

    Written as a fixed-width string so SQLite compares values in time order and no sqlite3
    datetime adapter (deprecated in Python 3.12) is involved; MySQL parses it as a DATETIME.
    """

    def get_modifiers(self) -> list[int]:
        return [6]

    def db_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store; pass aware UTC")
            return value.astimezone(UTC).replace(tzinfo=None).strftime(_TIMESTAMP_FORMAT)
        return value

    def python_value(self, value: Any) -> Any:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC)
        return value


class _Record(peewee.Model):
    class Meta:
        database = None
        legacy_table_names = False


class RolloutRecord(_Record):
    id = peewee.AutoField()
    cluster = peewee.CharField(max_length=191)
    namespace = peewee.CharField(max_length=253)
    deployment = peewee.CharField(max_length=253)
    revision = peewee.CharField(max_length=32)
    uid = peewee.CharField(max_length=64, null=True)
    template_hash = peewee.CharField(max_length=64, null=True)
    status = peewee.CharField(max_length=16, index=True)
    rule = peewee.CharField(max_length=32, null=True)
    message = peewee.TextField(default="")
    project = peewee.CharField(max_length=255, null=True)
    commit_sha = peewee.CharField(max_length=64, null=True)
    git_ref = peewee.CharField(max_length=255, null=True)
    author = peewee.CharField(max_length=255, null=True)
    pipeline_url = peewee.TextField(null=True)
    mr_url = peewee.TextField(null=True)
    mr_iid = peewee.IntegerField(null=True)
    job_url = peewee.TextField(null=True)
    environment = peewee.CharField(max_length=255, null=True)
    team = peewee.CharField(max_length=255, null=True)
    slack_channel = peewee.CharField(max_length=255, null=True)
    pipeline_owned = peewee.BooleanField(default=False)
    pipeline_seen_at = UtcDateTimeField(null=True)
    pipeline_verdict_at = UtcDateTimeField(null=True)
    started_at = UtcDateTimeField(null=True)
    finished_at = UtcDateTimeField(null=True)
    analysis_done = peewee.BooleanField(default=False)
    analysis_id = peewee.IntegerField(null=True)
    analysis_attempts = peewee.IntegerField(default=0)
    notified = peewee.BooleanField(default=False)
    claimed_by = peewee.CharField(max_length=128, null=True)
    claim_expires_at = UtcDateTimeField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    version = peewee.IntegerField(default=0)

    class Meta:
        table_name = "rollouts"


class AnalysisRecord(_Record):
    id = peewee.AutoField()
    rollout = peewee.ForeignKeyField(RolloutRecord, column_name="rollout_id", unique=True)
    analysis_json = peewee.TextField()
    source = peewee.CharField(max_length=16)
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "analyses"


class NotificationRecord(_Record):
    id = peewee.AutoField()
    rollout = peewee.ForeignKeyField(RolloutRecord, column_name="rollout_id")
    sink = peewee.CharField(max_length=16)
    ref = peewee.CharField(max_length=128, null=True)
    channel = peewee.CharField(max_length=255, null=True)
    attempts = peewee.IntegerField(default=0)
    last_error = peewee.TextField(null=True)
    state = peewee.CharField(max_length=16)
    next_attempt_at = UtcDateTimeField()
    claimed_by = peewee.CharField(max_length=128, null=True)
    claim_expires_at = UtcDateTimeField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    version = peewee.IntegerField(default=0)

    class Meta:
        table_name = "notifications"


class SchemaVersionRecord(_Record):
    version = peewee.IntegerField(primary_key=True)
    name = peewee.CharField(max_length=191)
    applied_at = UtcDateTimeField()

    class Meta:
        table_name = "schema_version"


RECORDS: tuple[type[_Record], ...] = (
    RolloutRecord,
    AnalysisRecord,
    NotificationRecord,
    SchemaVersionRecord,
)
