SELECT
  "t2"."entity" AS "entity",
  toDate(
    CONCAT(toString(1970), '-', LPAD(toString(1), 2, '0'), '-', LPAD(toString(1), 2, '0'))
  ) + INTERVAL "t2"."number" DAY AS "day",
  "t2"."m0" AS "m0",
  "t2"."m1" AS "m1",
  "t2"."m2" AS "m2",
  "t2"."m3" AS "m3",
  "t2"."m4" AS "m4",
  "t2"."m5" AS "m5",
  "t2"."m6" AS "m6",
  "t2"."m7" AS "m7",
  "t2"."m8" AS "m8",
  "t2"."m9" AS "m9",
  "t2"."m10" AS "m10",
  "t2"."m11" AS "m11"
FROM (
  SELECT
    "t1"."cynosure_entity" AS "entity",
    "t1"."cynosure_day" AS "number",
    COUNT(*) AS "m0",
    COALESCE(sumIf("t1"."duration_s" / 3600, "t1"."event" = 'song_played'), 0.0) AS "m1",
    countIf("t1"."event" = 'song_played') AS "m2",
    countIf("t1"."event" = 'song_skipped') AS "m3",
    countIf("t1"."event" = 'playlist_add') AS "m4",
    countIf("t1"."event" = 'search') AS "m5",
    countIf("t1"."event" = 'subscription_cancelled') AS "m6",
    COALESCE(sumIf("t1"."amount", "t1"."event" = 'payment_succeeded'), 0.0) AS "m7",
    countIf("t1"."event" = 'onboarding_completed') AS "m8",
    countIf("t1"."event" = 'signed_up') AS "m9",
    COALESCE(sumIf("t1"."duration_s" / 60, "t1"."event" = 'song_played'), 0.0) AS "m10",
    countIf("t1"."duration_s" / 60, "t1"."event" = 'song_played') AS "m11"
  FROM (
    SELECT
      "t0"."user_id" AS "user_id",
      "t0"."timestamp" AS "timestamp",
      "t0"."event" AS "event",
      "t0"."country" AS "country",
      "t0"."platform" AS "platform",
      "t0"."app_version" AS "app_version",
      "t0"."plan" AS "plan",
      "t0"."acquisition_channel" AS "acquisition_channel",
      "t0"."duration_s" AS "duration_s",
      "t0"."amount" AS "amount",
      CAST(FLOOR(
        (
          (
            CAST(FLOOR(CAST(toRelativeSecondNum("t0"."timestamp") AS Nullable(Float64))) AS Nullable(Int64)) * 1000000
          ) + CAST(CAST(toUnixTimestamp64Micro(CAST("t0"."timestamp" AS Nullable(DateTime64(6, 'UTC')))) % 1000000 AS Nullable(Int32)) AS Nullable(Int64))
        ) / (
          86400000000
        )
      ) AS Nullable(Int64)) AS "cynosure_day",
      "t0"."user_id" AS "cynosure_entity"
    FROM "events" AS "t0"
    WHERE
      isNotNull(
        CAST(FLOOR(
          (
            (
              CAST(FLOOR(CAST(toRelativeSecondNum("t0"."timestamp") AS Nullable(Float64))) AS Nullable(Int64)) * 1000000
            ) + CAST(CAST(toUnixTimestamp64Micro(CAST("t0"."timestamp" AS Nullable(DateTime64(6, 'UTC')))) % 1000000 AS Nullable(Int32)) AS Nullable(Int64))
          ) / (
            86400000000
          )
        ) AS Nullable(Int64))
      )
      AND isNotNull("t0"."user_id")
  ) AS "t1"
  GROUP BY
    "t1"."cynosure_entity",
    "t1"."cynosure_day"
) AS "t2"
