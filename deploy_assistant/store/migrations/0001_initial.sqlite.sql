-- Rollouts, their analyses and their notifications (SQLite).
CREATE TABLE IF NOT EXISTS rollouts (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  cluster VARCHAR(191) NOT NULL,
  namespace VARCHAR(253) NOT NULL,
  deployment VARCHAR(253) NOT NULL,
  revision VARCHAR(32) NOT NULL,
  uid VARCHAR(64) NULL,
  template_hash VARCHAR(64) NULL,
  status VARCHAR(16) NOT NULL,
  rule VARCHAR(32) NULL,
  message TEXT NOT NULL,
  project VARCHAR(255) NULL,
  commit_sha VARCHAR(64) NULL,
  git_ref VARCHAR(255) NULL,
  author VARCHAR(255) NULL,
  pipeline_url TEXT NULL,
  mr_url TEXT NULL,
  mr_iid INTEGER NULL,
  job_url TEXT NULL,
  environment VARCHAR(255) NULL,
  team VARCHAR(255) NULL,
  slack_channel VARCHAR(255) NULL,
  pipeline_owned INTEGER NOT NULL DEFAULT 0,
  pipeline_seen_at DATETIME(6) NULL,
  pipeline_verdict_at DATETIME(6) NULL,
  started_at DATETIME(6) NULL,
  finished_at DATETIME(6) NULL,
  analysis_done INTEGER NOT NULL DEFAULT 0,
  analysis_id INTEGER NULL,
  analysis_attempts INTEGER NOT NULL DEFAULT 0,
  notified INTEGER NOT NULL DEFAULT 0,
  claimed_by VARCHAR(128) NULL,
  claim_expires_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  UNIQUE (cluster, namespace, deployment, revision)
);
CREATE INDEX IF NOT EXISTS ix_rollouts_work ON rollouts (status, analysis_done, notified);

CREATE TABLE IF NOT EXISTS analyses (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  rollout_id INTEGER NOT NULL UNIQUE REFERENCES rollouts (id) ON DELETE CASCADE,
  analysis_json TEXT NOT NULL,
  source VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL
);

CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  sink VARCHAR(16) NOT NULL,
  ref VARCHAR(128) NULL,
  channel VARCHAR(255) NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  state VARCHAR(16) NOT NULL,
  next_attempt_at DATETIME(6) NOT NULL,
  claimed_by VARCHAR(128) NULL,
  claim_expires_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  UNIQUE (rollout_id, sink)
);
