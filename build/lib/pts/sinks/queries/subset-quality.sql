-- How good the subsets were, per project: of the builds that asked for one and then failed, the share whose subset held a failing test, and the share of failing tests it held.
-- Only failures that were observed count: if CI ran just the subset, a failure it skipped shows up in a later build instead.
SELECT
    project,
    count() AS failing_builds,
    round(countIf(caught > 0) / failing_builds, 4) AS builds_caught,
    round(sum(caught) / sum(failed), 4) AS failures_in_subset
FROM
(
    SELECT
        answer.project AS project,
        answer.build_id AS build_id,
        uniqExact(result.test_id) AS failed,
        uniqExactIf(result.test_id, has(answer.subset, result.test_id)) AS caught
    FROM
    (
        -- the latest answer of each build, its parts joined in order
        SELECT
            project,
            build_id,
            arraySlice(argMax(ranked, answered_at), 1, argMax(subset_size, answered_at)) AS subset
        FROM
        (
            SELECT
                request_id,
                any(r.project) AS project,
                any(r.build_id) AS build_id,
                max(r.answered_at) AS answered_at,
                any(r.subset_size) AS subset_size,
                arrayFlatten(arrayMap(p -> p.2, arraySort(groupArray((r.part, r.ranked))))) AS ranked
            FROM pts.subset_responses AS r
            WHERE {project:String} = '' OR r.project = {project:String}
            GROUP BY request_id
        )
        GROUP BY project, build_id
    ) AS answer
    INNER JOIN pts.test_results AS result
        ON result.project = answer.project AND result.build_id = answer.build_id
    WHERE result.outcome IN ('failed', 'error')
    GROUP BY project, build_id
)
GROUP BY project
ORDER BY project
