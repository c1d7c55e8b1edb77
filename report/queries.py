"""The SQL of the report's sections, each read for one project or, with an empty
{project:String}, for every project. Weeks start on Monday and are the weeks of the builds
(`builds.started_at`, so a replayed history keeps its own calendar); a result, prediction or
answer whose build was never recorded falls back on its own time.

The champion changes, the flaky tests and the calibration bands are the saved queries of
`pts query` (`sinks/queries/`), read by name in `report/history.py`.
"""

from __future__ import annotations

WEEK_OF_BUILD = "toMonday(if(b.build_id = '', {fallback}, b.started_at))"

BUILD_WEEKS = f"""
SELECT
    r.project AS project,
    {WEEK_OF_BUILD.format(fallback="r.recorded_at")} AS week,
    uniqExact(r.build_id) AS builds,
    uniqExactIf(r.build_id, r.outcome IN ('failed', 'error')) AS failing_builds,
    countIf(r.outcome != 'skipped') AS results,
    countIf(r.outcome IN ('failed', 'error')) AS failures,
    round(sum(r.duration_s), 3) AS test_time_s
FROM pts.test_results AS r
LEFT JOIN pts.builds AS b ON b.project = r.project AND b.build_id = r.build_id
WHERE {{project:String}} = '' OR r.project = {{project:String}}
GROUP BY project, week
ORDER BY project, week
"""
"""Per project and week: builds, failing builds, results, failures and test time."""

_ANSWERS = """
    -- the latest answer of each build, its parts joined in order
    SELECT
        project,
        build_id,
        argMax(asked_observe, asked_at) AS observe,
        argMax(asked_size, asked_at) AS chosen,
        argMax(asked_ranked, asked_at) AS ranked,
        argMax(asked_reasons, asked_at) AS reasons,
        max(asked_at) AS answered_at
    FROM
    (
        SELECT
            r.request_id AS request_id,
            any(r.project) AS project,
            any(r.build_id) AS build_id,
            any(r.observe) AS asked_observe,
            any(r.subset_size) AS asked_size,
            max(r.answered_at) AS asked_at,
            arrayFlatten(arrayMap(p -> p.2, arraySort(groupArray((r.part, r.ranked)))))
                AS asked_ranked,
            arrayFlatten(arrayMap(
                p -> arrayResize(CAST(p.2, 'Array(String)'), p.3, ''),
                arraySort(groupArray((r.part, r.reasons, length(r.ranked))))
            )) AS asked_reasons
        FROM pts.subset_responses AS r
        WHERE {project:String} = '' OR r.project = {project:String}
        GROUP BY request_id
    )
    GROUP BY project, build_id
"""

SUBSET_BUILDS = f"""
SELECT
    a.project AS project,
    a.build_id AS build_id,
    {WEEK_OF_BUILD.format(fallback="a.answered_at")} AS week,
    a.observe AS observe,
    a.candidates AS candidates,
    a.run AS tests_run,
    a.candidates - a.run AS tests_skipped,
    round(a.time_run_s, 3) AS time_run_s,
    round(a.time_saved_s, 3) AS time_saved_s,
    a.must_run AS must_run,
    a.starved AS starved,
    a.full_run AS full_run
FROM
(
    SELECT
        t.project AS project,
        t.build_id AS build_id,
        any(t.observe) AS observe,
        any(t.answered_at) AS answered_at,
        count() AS candidates,
        countIf(t.chosen) AS run,
        sumIf(d.mean_s, t.chosen) AS time_run_s,
        sumIf(d.mean_s, NOT t.chosen) AS time_saved_s,
        countIf(t.chosen AND t.reason = 'must-run') AS must_run,
        countIf(t.chosen AND t.reason = 'starved') AS starved,
        countIf(t.chosen AND t.reason = 'full-run') AS full_run
    FROM
    (
        SELECT
            project, build_id, observe, answered_at, test_id, reason,
            position <= chosen AS chosen
        FROM ({_ANSWERS})
        ARRAY JOIN ranked AS test_id, reasons AS reason, arrayEnumerate(ranked) AS position
    ) AS t
    LEFT JOIN
    (
        -- each test's mean duration over the history: what skipping it saves
        SELECT project, test_id, avg(duration_s) AS mean_s
        FROM pts.test_results
        WHERE outcome != 'skipped' AND ({{project:String}} = '' OR project = {{project:String}})
        GROUP BY project, test_id
    ) AS d ON d.project = t.project AND d.test_id = t.test_id
    GROUP BY project, build_id
) AS a
LEFT JOIN pts.builds AS b ON b.project = a.project AND b.build_id = a.build_id
ORDER BY project, week, build_id
"""
"""Per answered build (its latest answer): observed or not, the tests run and skipped, the
time run and saved (each test's mean duration), and the tests each safety net added."""

CAUGHT = f"""
SELECT
    f.project AS project,
    f.build_id AS build_id,
    {WEEK_OF_BUILD.format(fallback="f.answered_at")} AS week,
    f.observe AS observe,
    f.failed AS failed,
    f.caught AS caught,
    f.failed - f.caught AS missed,
    f.missed_tests AS missed_tests
FROM
(
    SELECT
        answer.project AS project,
        answer.build_id AS build_id,
        any(answer.observe) AS observe,
        any(answer.answered_at) AS answered_at,
        uniqExact(result.test_id) AS failed,
        uniqExactIf(result.test_id, has(answer.subset, result.test_id)) AS caught,
        arraySort(groupUniqArrayIf(result.test_id, NOT has(answer.subset, result.test_id)))
            AS missed_tests
    FROM
    (
        SELECT project, build_id, observe, answered_at, arraySlice(ranked, 1, chosen) AS subset
        FROM ({_ANSWERS})
    ) AS answer
    INNER JOIN pts.test_results AS result
        ON result.project = answer.project AND result.build_id = answer.build_id
    WHERE result.outcome IN ('failed', 'error')
    GROUP BY project, build_id
) AS f
LEFT JOIN pts.builds AS b ON b.project = f.project AND b.build_id = f.build_id
ORDER BY project, week, build_id
"""
"""Per answered build that failed: the failing tests its subset held (caught) and left out
(missed; for an observed build, what the subset would have missed)."""

FLAKIEST = """
SELECT
    project,
    test_id,
    runs,
    failures,
    flips,
    round(flips / (runs - 1), 4) AS flip_rate,
    count() OVER (PARTITION BY project) AS flipping_tests
FROM
(
    SELECT
        project,
        test_id,
        count() AS runs,
        countIf(outcome IN ('failed', 'error')) AS failures,
        -- failed or not, run by run, in the order the results were recorded
        arrayMap(r -> r.3, arraySort(groupArray(
            (recorded_at, build_id, outcome IN ('failed', 'error'))
        ))) AS failed_in_order,
        arrayCount((a, b) -> a != b, arrayPopBack(failed_in_order), arrayPopFront(failed_in_order))
            AS flips
    FROM pts.test_results
    WHERE outcome != 'skipped' AND ({project:String} = '' OR project = {project:String})
    GROUP BY project, test_id
)
WHERE flips > 0
ORDER BY project, flips DESC, flip_rate DESC, test_id
LIMIT 15 BY project
"""
"""Per project, the 15 tests whose outcome flipped most often between consecutive runs (as the
saved query `flaky-tests` counts flips, whose LIMIT is over every project), and how many
tests flipped at all."""

SLOWEST = """
SELECT
    project,
    test_id,
    count() AS runs,
    round(avg(duration_s), 3) AS mean_s,
    round(sum(duration_s), 3) AS total_s
FROM pts.test_results
WHERE outcome != 'skipped' AND ({project:String} = '' OR project = {project:String})
GROUP BY project, test_id
ORDER BY project, mean_s DESC, test_id
LIMIT 15 BY project
"""
"""Per project, the 15 tests with the longest mean duration."""

QUALITY_WEEKS = f"""
SELECT
    p.project AS project,
    {WEEK_OF_BUILD.format(fallback="p.predicted_at")} AS week,
    count() AS results,
    countIf(p.failed) AS failures,
    if(
        failures > 0 AND failures < results,
        round(arrayAUC(groupArray(p.probability), groupArray(toUInt8(p.failed))), 4),
        NULL
    ) AS roc_auc,
    round(avg(p.probability), 6) AS mean_predicted,
    round(failures / results, 6) AS failure_rate
FROM pts.predictions AS p
LEFT JOIN pts.builds AS b ON b.project = p.project AND b.build_id = p.build_id
WHERE {{project:String}} = '' OR p.project = {{project:String}}
GROUP BY project, week
ORDER BY project, week
"""
"""Per project and week of the builds: the model's ROC AUC (empty without both outcomes),
its mean predicted chance and the observed failure rate."""

PROJECTS = """
SELECT DISTINCT project FROM
(
    SELECT project FROM pts.builds
    UNION ALL SELECT project FROM pts.test_results
    UNION ALL SELECT project FROM pts.subset_responses
)
WHERE {project:String} = '' OR project = {project:String}
ORDER BY project
"""
"""The projects the history knows."""
