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
        -- the latest answer of each build
        SELECT
            project,
            build_id,
            arraySlice(argMax(ranked, answered_at), 1, argMax(subset_size, answered_at)) AS subset
        FROM pts.subset_responses
        WHERE {project:String} = '' OR project = {project:String}
        GROUP BY project, build_id
    ) AS answer
    INNER JOIN pts.test_results AS result
        ON result.project = answer.project AND result.build_id = answer.build_id
    WHERE result.outcome IN ('failed', 'error')
    GROUP BY project, build_id
)
GROUP BY project
ORDER BY project
