-- Observation mode (pts subset --observe), per observed build: the failing tests the subset would have left out, and the test time it would have saved.
SELECT
    project,
    build_id,
    subset_size,
    candidates,
    failed,
    length(missed) AS missed_failures,
    missed,
    round(total_s - subset_s, 3) AS time_saved_s,
    round(if(total_s > 0, (total_s - subset_s) / total_s, 0), 4) AS share_of_time_saved
FROM
(
    SELECT
        answer.project AS project,
        answer.build_id AS build_id,
        any(answer.chosen) AS subset_size,
        any(answer.asked) AS candidates,
        uniqExactIf(result.test_id, result.outcome IN ('failed', 'error')) AS failed,
        arraySort(groupUniqArrayIf(
            result.test_id,
            result.outcome IN ('failed', 'error') AND NOT has(answer.subset, result.test_id)
        )) AS missed,
        sum(result.duration_s) AS total_s,
        sumIf(result.duration_s, has(answer.subset, result.test_id)) AS subset_s
    FROM
    (
        -- the latest observed answer of each build, its parts joined in order
        SELECT
            project,
            build_id,
            argMax(subset_size, answered_at) AS chosen,
            argMax(candidates, answered_at) AS asked,
            arraySlice(argMax(ranked, answered_at), 1, argMax(subset_size, answered_at)) AS subset
        FROM
        (
            SELECT
                request_id,
                any(r.project) AS project,
                any(r.build_id) AS build_id,
                max(r.answered_at) AS answered_at,
                any(r.subset_size) AS subset_size,
                any(r.candidates) AS candidates,
                arrayFlatten(arrayMap(p -> p.2, arraySort(groupArray((r.part, r.ranked))))) AS ranked
            FROM pts.subset_responses AS r
            WHERE r.observe AND ({project:String} = '' OR r.project = {project:String})
            GROUP BY request_id
        )
        GROUP BY project, build_id
    ) AS answer
    INNER JOIN pts.test_results AS result
        ON result.project = answer.project AND result.build_id = answer.build_id
    GROUP BY project, build_id
)
ORDER BY project, build_id
