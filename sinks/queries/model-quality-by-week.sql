-- How good the model's predictions were, per project and week (from Monday): results, failures, ROC AUC, and the mean predicted chance beside the observed failure rate (calibration).
-- Each prediction was made before the model learned that result (progressive validation). AUC is empty for a week with no failure, or with nothing else.
SELECT
    project,
    toMonday(predicted_at) AS week,
    count() AS results,
    countIf(failed) AS failures,
    if(
        failures > 0 AND failures < results,
        round(arrayAUC(groupArray(probability), groupArray(toUInt8(failed))), 4),
        NULL
    ) AS roc_auc,
    round(avg(probability), 6) AS mean_predicted,
    round(failures / results, 6) AS failure_rate
FROM pts.predictions
WHERE {project:String} = '' OR project = {project:String}
GROUP BY project, week
ORDER BY project, week
