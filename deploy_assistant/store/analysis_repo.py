"""`AnalysisRepo` on SQL: one stored `Analysis` (as JSON) per rollout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee

from deploy_assistant.models import Analysis
from deploy_assistant.store.database import Database
from deploy_assistant.store.rows import AnalysisRow
from deploy_assistant.store.tables import AnalysisRecord as A


class SqlAnalysisRepo:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._db = database.db

    def create(self, rollout_id: int, analysis: Analysis, now: datetime) -> AnalysisRow:
        values = {
            A.rollout: rollout_id,
            A.analysis_json: analysis.model_dump_json(),
            A.source: analysis.source,
            A.created_at: now,
        }
        try:
            new_id = self._database.run(lambda: A.insert(values).execute(self._db))
        except peewee.IntegrityError:
            # The unique key on rollout_id: someone (or our own lost-reply retry) stored it first.
            existing = self.get_for_rollout(rollout_id)
            if existing is None:
                raise
            return existing
        row = self.get_by_id(int(new_id))
        assert row is not None
        return row

    def get_by_id(self, analysis_id: int) -> AnalysisRow | None:
        return self._database.run(lambda: self._one(A.id == analysis_id), write=False)

    def get_for_rollout(self, rollout_id: int) -> AnalysisRow | None:
        return self._database.run(lambda: self._one(A.rollout == rollout_id), write=False)

    def _one(self, where: Any) -> AnalysisRow | None:
        records = list(A.select().where(where).limit(1).execute(self._db))
        if not records:
            return None
        record = records[0]
        return AnalysisRow(
            id=record.id,
            rollout_id=record.rollout_id,
            analysis=Analysis.model_validate_json(record.analysis_json),
            source=record.source,
            created_at=record.created_at,
        )
