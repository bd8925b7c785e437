SELECT
  "t2"."entity",
  DATEADD(DAY, "t2"."number", DATE_FROM_PARTS(1970, 1, 1)) AS "day",
  "t2"."m0",
  "t2"."m1",
  "t2"."m2",
  "t2"."m3",
  "t2"."m4",
  "t2"."m5",
  "t2"."m6",
  "t2"."m7",
  "t2"."m8",
  "t2"."m9",
  "t2"."m10",
  "t2"."m11"
FROM (
  SELECT
    "t1"."cynosure_entity" AS "entity",
    "t1"."cynosure_day" AS "number",
    COUNT(*) AS "m0",
    COALESCE(SUM(IFF("t1"."event" = 'song_played', "t1"."duration_s" / 3600, NULL)), 0.0) AS "m1",
    COUNT_IF("t1"."event" = 'song_played') AS "m2",
    COUNT_IF("t1"."event" = 'song_skipped') AS "m3",
    COUNT_IF("t1"."event" = 'playlist_add') AS "m4",
    COUNT_IF("t1"."event" = 'search') AS "m5",
    COUNT_IF("t1"."event" = 'subscription_cancelled') AS "m6",
    COALESCE(SUM(IFF("t1"."event" = 'payment_succeeded', "t1"."amount", NULL)), 0.0) AS "m7",
    COUNT_IF("t1"."event" = 'onboarding_completed') AS "m8",
    COUNT_IF("t1"."event" = 'signed_up') AS "m9",
    COALESCE(SUM(IFF("t1"."event" = 'song_played', "t1"."duration_s" / 60, NULL)), 0.0) AS "m10",
    COUNT(IFF("t1"."event" = 'song_played', "t1"."duration_s" / 60, NULL)) AS "m11"
  FROM (
    SELECT
      "t0"."user_id",
      "t0"."timestamp",
      "t0"."event",
      "t0"."country",
      "t0"."platform",
      "t0"."app_version",
      "t0"."plan",
      "t0"."acquisition_channel",
      "t0"."duration_s",
      "t0"."amount",
      CAST(FLOOR(
        (
          (
            CAST(FLOOR(CAST(DATE_PART('epoch', "t0"."timestamp") AS DOUBLE)) AS BIGINT) * 1000000
          ) + CAST(DATE_PART('epoch_microsecond', "t0"."timestamp") % 1000000 AS BIGINT)
        ) / (
          86400000000
        )
      ) AS BIGINT) AS "cynosure_day",
      "t0"."user_id" AS "cynosure_entity"
    FROM "events" AS "t0"
    WHERE
      CAST(FLOOR(
        (
          (
            CAST(FLOOR(CAST(DATE_PART('epoch', "t0"."timestamp") AS DOUBLE)) AS BIGINT) * 1000000
          ) + CAST(DATE_PART('epoch_microsecond', "t0"."timestamp") % 1000000 AS BIGINT)
        ) / (
          86400000000
        )
      ) AS BIGINT) IS NOT NULL
      AND "t0"."user_id" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
