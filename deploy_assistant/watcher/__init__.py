"""The in-cluster watcher (`da-watcher`): watch, ingest, analyze and notify roles over one store.

`service.WatcherService` assembles the roles; `watch.WatchLoop` judges rollouts with the same
evaluator as `da-ci wait`, fed by shared `informers` into a `cluster_index`; `ingest.IngestServer`
takes pipeline reports; `workers` analyze and notify exactly once per rollout and sink, safely
across restarts and replicas.
"""
