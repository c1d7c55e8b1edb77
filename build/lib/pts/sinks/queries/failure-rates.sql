-- Tests that failed at least once: runs, failures, failure rate and the last failure, worst first.
SELECT
    project,
    test_id,
    count() AS runs,
    countIf(outcome IN ('failed', 'error')) AS failures,
    round(failures / runs, 4) AS failure_rate,
    maxIf(recorded_at, outcome IN ('failed', 'error')) AS last_failed_at
FROM pts.test_results
WHERE outcome != 'skipped' AND ({project:String} = '' OR project = {project:String})
GROUP BY project, test_id
HAVING failures > 0
ORDER BY failure_rate DESC, failures DESC, project, test_id
LIMIT 100
