-- The history store: one DDL for both backends (embedded chdb and a ClickHouse server).
-- Every statement is idempotent (IF NOT EXISTS), so opening a store applies it again safely.
--
-- Deduplication: Kafka delivers at least once, so the loader may insert the same event twice
-- (a replay, or a batch retried after a crash before its offsets were committed). Every table
-- is a ReplacingMergeTree whose ORDER BY is the event's natural key: rows with the same key
-- collapse into one, keeping the highest version column (the event's own time, so a replayed
-- old event never beats a newer one; on a tie, the last inserted row).
--
-- ReplacingMergeTree collapses duplicates only when parts merge, which happens eventually or
-- never. So every read that must not see duplicates reads with FINAL. `HistoryStore.query()`
-- does this for you: it runs each query with the setting `final = 1`, which applies FINAL to
-- every ReplacingMergeTree table in the query. Analysts querying these tables with another
-- client must write `FROM pts.test_results FINAL` (or SET final = 1) themselves.

CREATE DATABASE IF NOT EXISTS pts;

-- One CI build of one commit, with what it changes against its base. Key: (project, build_id).
CREATE TABLE IF NOT EXISTS pts.builds
(
    project       LowCardinality(String),
    build_id      String,
    commit_sha    String,
    base_sha      Nullable(String),
    commits       Array(String),
    changed_files Array(Tuple(path String, added UInt32, deleted UInt32)),
    started_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(started_at)
ORDER BY (project, build_id);

-- One commit, with the files it changed against its first parent. Key: (project, sha).
CREATE TABLE IF NOT EXISTS pts.commits
(
    project       LowCardinality(String),
    sha           String,
    parents       Array(String),
    author        String,
    committed_at  DateTime64(3, 'UTC'),
    message       String,
    changed_files Array(Tuple(path String, added UInt32, deleted UInt32))
)
ENGINE = ReplacingMergeTree
ORDER BY (project, sha);

-- One test's outcome in one report of one build: each occurrence of a test in a report is a
-- row of its own (variant tells them apart). Key: (project, build_id, test_id, report,
-- report_digest, variant).
CREATE TABLE IF NOT EXISTS pts.test_results
(
    project       LowCardinality(String),
    build_id      String,
    report        String,
    report_digest String,
    slice         UInt32,
    test_id       String,
    suite         String,
    name          String,
    variant       String,
    outcome       Enum8('passed' = 1, 'failed' = 2, 'error' = 3, 'skipped' = 4),
    duration_s    Float64,
    message       String,
    recorded_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (project, build_id, test_id, report, report_digest, variant);

-- A store made before variants and report digests: add them, at the end of the key (a no-op
-- on a table that has them).
ALTER TABLE pts.test_results
    ADD COLUMN IF NOT EXISTS report_digest String AFTER report,
    ADD COLUMN IF NOT EXISTS variant String AFTER name,
    MODIFY ORDER BY (project, build_id, test_id, report, report_digest, variant);

-- One subset answer, or one part of a large one: the ranked candidate ids (this part's share,
-- in order), of which the first subset_size of the whole answer were chosen. candidates counts
-- the whole answer. Key: (request_id, part).
CREATE TABLE IF NOT EXISTS pts.subset_responses
(
    request_id                 String,
    part                       UInt32,
    parts                      UInt32 DEFAULT 1,
    project                    LowCardinality(String),
    build_id                   String,
    subset_size                UInt32,
    candidates                 UInt32,
    expected_share_of_time     Float64,
    expected_share_of_failures Float64,
    model                      String,
    answered_at                DateTime64(3, 'UTC'),
    ranked                     Array(String)
)
ENGINE = ReplacingMergeTree(answered_at)
ORDER BY (request_id, part);

ALTER TABLE pts.subset_responses
    ADD COLUMN IF NOT EXISTS part UInt32 AFTER request_id,
    ADD COLUMN IF NOT EXISTS parts UInt32 DEFAULT 1 AFTER part,
    MODIFY ORDER BY (request_id, part);

-- What the model predicted for each result before learning it (progressive validation), and
-- whether the test failed: the history of the model's quality. Key: (project, build_id,
-- test_id, report, report_digest, variant); a batch relearned after a crash replaces its rows.
CREATE TABLE IF NOT EXISTS pts.predictions
(
    project       LowCardinality(String),
    build_id      String,
    report        String,
    report_digest String,
    slice         UInt32,
    test_id       String,
    variant       String,
    probability  Float64,
    failed       Bool,
    model        String,
    predicted_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(predicted_at)
ORDER BY (project, build_id, test_id, report, report_digest, variant);

ALTER TABLE pts.predictions
    ADD COLUMN IF NOT EXISTS report_digest String AFTER report,
    ADD COLUMN IF NOT EXISTS variant String AFTER test_id,
    MODIFY ORDER BY (project, build_id, test_id, report, report_digest, variant);

-- One row, rewritten whenever the history loader asks whether the store takes writes at all
-- (a store that still answers reads may not: a read-only disk). Key: probe.
CREATE TABLE IF NOT EXISTS pts.store_probe
(
    probe     UInt8,
    probed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(probed_at)
ORDER BY probe;

-- Flavors and observation mode: the environment a result ran in (its test_id carries it as a
-- suffix too, so the key needs no change), and whether an answer was only observed (the build
-- ran every test). A no-op on a store that has them.
ALTER TABLE pts.test_results
    ADD COLUMN IF NOT EXISTS flavor String DEFAULT '';

ALTER TABLE pts.subset_responses
    ADD COLUMN IF NOT EXISTS flavor String DEFAULT '',
    ADD COLUMN IF NOT EXISTS observe Bool DEFAULT false,
    ADD COLUMN IF NOT EXISTS results_behind UInt32 DEFAULT 0;

-- Why each ranked test is where it is, in the order of ranked: the ranking's reason, or the
-- safety net that added it to the subset (must-run, starved, full-run).
ALTER TABLE pts.subset_responses
    ADD COLUMN IF NOT EXISTS reasons Array(LowCardinality(String)) DEFAULT [];

-- Each change of a project's serving ranker on a metric, with every candidate's record at the
-- decision (progressive validation on its recent failing builds). Key: (project, metric,
-- results_learned); a decision made again while replaying after a crash replaces its row.
CREATE TABLE IF NOT EXISTS pts.champion_decisions
(
    project         LowCardinality(String),
    metric          LowCardinality(String),
    previous        String,
    champion        String,
    records         Map(String, Float64),
    scored          UInt32,
    results_learned UInt64,
    decided_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(decided_at)
ORDER BY (project, metric, results_learned);
