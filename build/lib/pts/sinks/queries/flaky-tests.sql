-- Tests whose outcome flips between consecutive runs (pass, fail, pass...), most flips first.
SELECT
    project,
    test_id,
    runs,
    failures,
    flips,
    round(flips / (runs - 1), 4) AS flip_rate
FROM
(
    SELECT
        project,
        test_id,
        count() AS runs,
        countIf(outcome IN ('failed', 'error')) AS failures,
        -- failed or not, run by run, in the order the results were recorded
        arrayMap(r -> r.3, arraySort(groupArray((recorded_at, build_id, outcome IN ('failed', 'error'))))) AS failed_in_order,
        arrayCount((a, b) -> a != b, arrayPopBack(failed_in_order), arrayPopFront(failed_in_order)) AS flips
    FROM pts.test_results
    WHERE outcome != 'skipped' AND ({project:String} = '' OR project = {project:String})
    GROUP BY project, test_id
)
WHERE flips > 0
ORDER BY flips DESC, flip_rate DESC, project, test_id
LIMIT 100
