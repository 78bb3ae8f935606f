"""The watcher's history: rollouts, analyses and notifications in SQLite or MySQL (peewee).

The only package that imports peewee or pymysql. Callers get frozen rows (`store.rows`) through
the repository ports (`store.repos`), never database objects.
"""

from deploy_assistant.store.repos import AnalysisRepo, NotificationRepo, RolloutRepo
from deploy_assistant.store.store import Store, open_store

__all__ = ["AnalysisRepo", "NotificationRepo", "RolloutRepo", "Store", "open_store"]
