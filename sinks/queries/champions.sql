-- Every change of a project's serving ranker: when, on which metric (apfd serves confidence targets, apfdc time targets), from which candidate to which, and both records on the recent failing builds that decided it.
-- Records are means of APFD or APFDc scored before each failing build was learned (progressive validation); `pts status` shows the current champions and every challenger's record.
SELECT
    project,
    metric,
    decided_at,
    previous,
    champion,
    round(records[champion], 4) AS champion_record,
    round(records[previous], 4) AS previous_record,
    scored,
    results_learned
FROM pts.champion_decisions
WHERE {project:String} = '' OR project = {project:String}
ORDER BY project, decided_at, metric
