-- What the subsets saved, per project: answers given, and the mean share of candidates and of expected time they ran.
SELECT
    project,
    count() AS answers,
    round(avg(subset_size / candidates), 4) AS share_of_tests_run,
    round(avg(expected_share_of_time), 4) AS share_of_time_run,
    round(1 - avg(expected_share_of_time), 4) AS share_of_time_saved
FROM pts.subset_responses
WHERE part = 0 AND candidates > 0 AND ({project:String} = '' OR project = {project:String})
GROUP BY project
ORDER BY project
