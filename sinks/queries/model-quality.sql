-- Calibration of the model's chances, per project: for each band of predicted chance, the results given it, the mean chance, and the share that failed (equal when calibrated); with the project's ROC AUC over all its predictions.
-- Each prediction was made before the model learned that result (progressive validation). Bands without predictions are left out.
WITH multiIf(
    probability < 0.01, '0-1%',
    probability < 0.05, '1-5%',
    probability < 0.2, '5-20%',
    probability < 0.5, '20-50%',
    '50-100%'
) AS band
SELECT
    project,
    band,
    count() AS results,
    countIf(failed) AS failures,
    round(avg(probability), 6) AS mean_predicted,
    round(failures / results, 6) AS failure_rate,
    any(auc) AS roc_auc
FROM pts.predictions
LEFT JOIN
(
    SELECT
        project,
        if(
            countIf(failed) > 0 AND countIf(NOT failed) > 0,
            round(arrayAUC(groupArray(probability), groupArray(toUInt8(failed))), 4),
            NULL
        ) AS auc
    FROM pts.predictions
    WHERE {project:String} = '' OR project = {project:String}
    GROUP BY project
) AS overall USING (project)
WHERE {project:String} = '' OR project = {project:String}
GROUP BY project, band
ORDER BY project, min(probability)
