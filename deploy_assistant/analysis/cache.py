"""A cache of LLM analyses keyed by (context digest, model, PROMPT_VERSION).

Re-analysing the same snapshot with the same model and prompts costs nothing: the watcher
restarts, the CLI reruns and benchmarks hit it. In memory always; on disk when a directory is
configured (`LLMSettings.cache_dir`), one JSON file per key. A damaged file is a miss.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from deploy_assistant.models import Analysis

log = logging.getLogger(__name__)


class AnalysisCache:
    """get/put by key; `directory=None` keeps entries in this process only."""

    def __init__(self, directory: Path | None = None) -> None:
        self._memory: dict[str, Analysis] = {}
        self._directory = directory

    def _path(self, key: str) -> Path | None:
        return self._directory / f"analysis-{key}.json" if self._directory else None

    def get(self, key: str) -> Analysis | None:
        if key in self._memory:
            return self._memory[key]
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            found = Analysis.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            log.warning("ignoring unreadable cache entry %s", path.name)
            return None
        self._memory[key] = found
        return found

    def put(self, key: str, analysis: Analysis) -> None:
        self._memory[key] = analysis
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(analysis.model_dump_json(), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            log.warning("could not write cache entry %s: %s", path.name, exc)


_CACHES: dict[Path | None, AnalysisCache] = {}


def cache_for(directory: Path | None) -> AnalysisCache:
    """One cache per directory for the whole process (None: memory only)."""
    return _CACHES.setdefault(directory, AnalysisCache(directory))
