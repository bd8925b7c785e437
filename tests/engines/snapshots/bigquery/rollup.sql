SELECT
  `t2`.`entity`,
  DATE_ADD(DATE(1970, 1, 1), INTERVAL `t2`.`number` DAY) AS `day`,
  `t2`.`m0`,
  `t2`.`m1`,
  `t2`.`m2`,
  `t2`.`m3`,
  `t2`.`m4`,
  `t2`.`m5`,
  `t2`.`m6`,
  `t2`.`m7`,
  `t2`.`m8`,
  `t2`.`m9`,
  `t2`.`m10`,
  `t2`.`m11`
FROM (
  SELECT
    `t1`.`cynosure_entity` AS `entity`,
    `t1`.`cynosure_day` AS `number`,
    COUNT(*) AS `m0`,
    COALESCE(
      SUM(IF(`t1`.`event` = 'song_played', ieee_divide(`t1`.`duration_s`, 3600), NULL)),
      0.0
    ) AS `m1`,
    COUNTIF(`t1`.`event` = 'song_played') AS `m2`,
    COUNTIF(`t1`.`event` = 'song_skipped') AS `m3`,
    COUNTIF(`t1`.`event` = 'playlist_add') AS `m4`,
    COUNTIF(`t1`.`event` = 'search') AS `m5`,
    COUNTIF(`t1`.`event` = 'subscription_cancelled') AS `m6`,
    COALESCE(SUM(IF(`t1`.`event` = 'payment_succeeded', `t1`.`amount`, NULL)), 0.0) AS `m7`,
    COUNTIF(`t1`.`event` = 'onboarding_completed') AS `m8`,
    COUNTIF(`t1`.`event` = 'signed_up') AS `m9`,
    COALESCE(
      SUM(IF(`t1`.`event` = 'song_played', ieee_divide(`t1`.`duration_s`, 60), NULL)),
      0.0
    ) AS `m10`,
    COUNT(IF(`t1`.`event` = 'song_played', ieee_divide(`t1`.`duration_s`, 60), NULL)) AS `m11`
  FROM (
    SELECT
      `t0`.`user_id`,
      `t0`.`timestamp`,
      `t0`.`event`,
      `t0`.`country`,
      `t0`.`platform`,
      `t0`.`app_version`,
      `t0`.`plan`,
      `t0`.`acquisition_channel`,
      `t0`.`duration_s`,
      `t0`.`amount`,
      CAST(FLOOR(
        ieee_divide(
          (
            CAST(FLOOR(CAST(UNIX_SECONDS(`t0`.`timestamp`) AS FLOAT64)) AS INT64) * 1000000
          ) + CAST(EXTRACT(microsecond FROM `t0`.`timestamp`) AS INT64),
          86400000000
        )
      ) AS INT64) AS `cynosure_day`,
      `t0`.`user_id` AS `cynosure_entity`
    FROM `events` AS `t0`
    WHERE
      CAST(FLOOR(
        ieee_divide(
          (
            CAST(FLOOR(CAST(UNIX_SECONDS(`t0`.`timestamp`) AS FLOAT64)) AS INT64) * 1000000
          ) + CAST(EXTRACT(microsecond FROM `t0`.`timestamp`) AS INT64),
          86400000000
        )
      ) AS INT64) IS NOT NULL
      AND `t0`.`user_id` IS NOT NULL
  ) AS `t1`
  GROUP BY
    1,
    2
) AS `t2`
