SELECT
  COUNT(DISTINCT "t2"."entity") AS "entities",
  COUNT(*) AS "rows"
FROM (
  SELECT
    "t1"."entity",
    "t1"."period",
    SUM("t1"."m0") AS "m0",
    SUM("t1"."m1") AS "m1",
    SUM("t1"."m10") AS "m10",
    SUM("t1"."m11") AS "m11",
    SUM("t1"."m2") AS "m2",
    SUM("t1"."m3") AS "m3",
    SUM("t1"."m4") AS "m4",
    SUM("t1"."m5") AS "m5",
    SUM("t1"."m6") AS "m6",
    SUM("t1"."m7") AS "m7",
    SUM("t1"."m8") AS "m8",
    SUM("t1"."m9") AS "m9",
    COUNT(DISTINCT IFF("t1"."m2" > 0, "t1"."day", NULL)) AS "m2_days"
  FROM (
    SELECT
      "t0"."entity",
      "t0"."day",
      "t0"."m0",
      "t0"."m1",
      "t0"."m2",
      "t0"."m3",
      "t0"."m4",
      "t0"."m5",
      "t0"."m6",
      "t0"."m7",
      "t0"."m8",
      "t0"."m9",
      "t0"."m10",
      "t0"."m11",
      DATE_TRUNC('WEEK', "t0"."day") AS "period"
    FROM "cynosure_rollup" AS "t0"
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
