-- Auto-eval job progress: when the current worker claimed the job and how
-- much was done then, so that the rate and ETA measure this run only (a
-- resumed job starts with the work of its earlier runs done); how many times
-- it was claimed; and notes, what a finished job skipped and why.
ALTER TABLE eval_jobs ADD COLUMN claimed_at TIMESTAMPTZ;
ALTER TABLE eval_jobs ADD COLUMN claim_done INTEGER NOT NULL DEFAULT 0 CHECK (claim_done >= 0);
ALTER TABLE eval_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE eval_jobs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
-- Workers look for stale running jobs by heartbeat.
CREATE INDEX eval_jobs_heartbeat_idx ON eval_jobs (status, heartbeat_at);
