WITH "t11" AS (
  SELECT
    "t1"."entity",
    "t1"."start",
    DATEADD(DAY, '28', "t1"."start") AS "low",
    DATEADD(DAY, '34', "t1"."start") AS "high",
    DATE_TRUNC('WEEK', "t1"."start") AS "period"
  FROM "starts" AS "t1"
  WHERE
    DATEADD(DAY, '34', "t1"."start") <= (
      SELECT
        MAX("t0"."day") AS "Max(day)"
      FROM "cynosure_rollup" AS "t0"
    )
), "t12" AS (
  SELECT
    "t1"."entity",
    "t1"."start",
    DATEADD(DAY, '0', "t1"."start") AS "low",
    DATEADD(DAY, '1', "t1"."start") AS "high",
    DATE_TRUNC('WEEK', "t1"."start") AS "period"
  FROM "starts" AS "t1"
  WHERE
    DATEADD(DAY, '1', "t1"."start") <= (
      SELECT
        MAX("t0"."day") AS "Max(day)"
      FROM "cynosure_rollup" AS "t0"
    )
), "t15" AS (
  SELECT
    "t5"."entity",
    "t5"."period",
    SUM("t5"."m0") AS "m0",
    SUM("t5"."m1") AS "m1",
    SUM("t5"."m10") AS "m10",
    SUM("t5"."m11") AS "m11",
    SUM("t5"."m2") AS "m2",
    SUM("t5"."m3") AS "m3",
    SUM("t5"."m4") AS "m4",
    SUM("t5"."m5") AS "m5",
    SUM("t5"."m6") AS "m6",
    SUM("t5"."m7") AS "m7",
    SUM("t5"."m8") AS "m8",
    SUM("t5"."m9") AS "m9",
    COUNT_IF("t5"."m2" > 0) AS "m2_days"
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
  ) AS "t5"
  GROUP BY
    1,
    2
), "t26" AS (
  SELECT
    "t18"."period",
    SUM("t18"."m1") AS "k_listening_hours",
    COUNT_IF("t18"."m2" > 0) AS "k_listeners",
    SUM("t18"."m2") AS "k_song_plays",
    SUM("t18"."m3") AS "k_skips",
    SUM("t18"."m4") AS "k_playlist_adds",
    SUM("t18"."m5") AS "k_searches",
    SUM("t18"."m6") AS "k_cancellations",
    SUM("t18"."m7") AS "k_revenue",
    SUM("t18"."m9") AS "k_signups",
    SUM("t18"."m9") AS "k_signups_total",
    COUNT_IF("t18"."m2_days" >= 3) AS "k_engaged_listeners",
    SUM("t18"."m10") AS "k_avg_song_minutes__num",
    SUM("t18"."m11") AS "k_avg_song_minutes__den"
  FROM "t15" AS "t18"
  GROUP BY
    1
), "t31" AS (
  SELECT
    "t21"."entity",
    "t21"."period",
    LAG("t21"."period") OVER (PARTITION BY "t21"."entity" ORDER BY "t21"."period" ASC) AS "previous",
    LEAD("t21"."period") OVER (PARTITION BY "t21"."entity" ORDER BY "t21"."period" ASC) AS "following"
  FROM (
    SELECT
      "t18"."entity",
      "t18"."period"
    FROM "t15" AS "t18"
    WHERE
      "t18"."m2" > 0
  ) AS "t21"
), "t64" AS (
  SELECT
    "t37"."period",
    COUNT_IF("t37"."previous" IS NULL) AS "new",
    COUNT_IF("t37"."previous" = DATEADD(DAY, -'7', "t37"."period")) AS "retained",
    COUNT_IF(
      (
        "t37"."previous" IS NOT NULL
      )
      AND (
        "t37"."previous" <> DATEADD(DAY, -'7', "t37"."period")
      )
    ) AS "resurrected"
  FROM "t31" AS "t37"
  GROUP BY
    1
)
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t28"."period",
          'avg_song_minutes:den' AS "key",
          CAST("t28"."k_avg_song_minutes__den" AS DOUBLE) AS "value"
        FROM "t26" AS "t28"
      ) AS "t38"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t66"."period",
          'm2:new' AS "key",
          CAST("t66"."new" AS DOUBLE) AS "value"
        FROM "t64" AS "t66"
      ) AS "t68"
    ) AS "t72"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t66"."period",
          'm2:retained' AS "key",
          CAST("t66"."retained" AS DOUBLE) AS "value"
        FROM "t64" AS "t66"
      ) AS "t69"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t66"."period",
          'm2:resurrected' AS "key",
          CAST("t66"."resurrected" AS DOUBLE) AS "value"
        FROM "t64" AS "t66"
      ) AS "t70"
    ) AS "t73"
  ) AS "t75"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t65"."period",
          'm2:churned' AS "key",
          CAST("t65"."churned" AS DOUBLE) AS "value"
        FROM (
          SELECT
            "t63"."period",
            COUNT(*) AS "churned"
          FROM (
            SELECT
              "t37"."entity",
              DATEADD(DAY, '7', "t37"."period") AS "period",
              "t37"."previous",
              "t37"."following"
            FROM "t31" AS "t37"
            WHERE
              (
                "t37"."following" IS NULL
              )
              OR (
                "t37"."following" <> DATEADD(DAY, '7', "t37"."period")
              )
          ) AS "t63"
          GROUP BY
            1
        ) AS "t65"
      ) AS "t67"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t35"."period",
          'week4_retention:num' AS "key",
          CAST("t35"."value" AS DOUBLE) AS "value"
        FROM (
          SELECT
            "t29"."period",
            COUNT(*) AS "value"
          FROM (
            SELECT DISTINCT
              *
            FROM (
              SELECT
                "t16"."entity",
                "t16"."period"
              FROM "t11" AS "t16"
              INNER JOIN (
                SELECT
                  "t0"."entity" AS "act_entity",
                  "t0"."day" AS "act_day"
                FROM "cynosure_rollup" AS "t0"
                WHERE
                  "t0"."m0" > 0
              ) AS "t9"
                ON "t16"."entity" = "t9"."act_entity"
                AND "t9"."act_day" >= "t16"."low"
                AND "t9"."act_day" <= "t16"."high"
            ) AS "t23"
          ) AS "t29"
          GROUP BY
            1
        ) AS "t35"
      ) AS "t57"
    ) AS "t71"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t19"."period",
          'week4_retention:den' AS "key",
          CAST("t19"."value" AS DOUBLE) AS "value"
        FROM (
          SELECT
            "t13"."period",
            COUNT(*) AS "value"
          FROM "t11" AS "t13"
          GROUP BY
            1
        ) AS "t19"
      ) AS "t22"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t36"."period",
          'onboarding_completion:num' AS "key",
          CAST("t36"."value" AS DOUBLE) AS "value"
        FROM (
          SELECT
            "t30"."period",
            COUNT(*) AS "value"
          FROM (
            SELECT DISTINCT
              *
            FROM (
              SELECT
                "t17"."entity",
                "t17"."period"
              FROM "t12" AS "t17"
              INNER JOIN (
                SELECT
                  "t0"."entity" AS "act_entity",
                  "t0"."day" AS "act_day"
                FROM "cynosure_rollup" AS "t0"
                WHERE
                  "t0"."m8" > 0
              ) AS "t10"
                ON "t17"."entity" = "t10"."act_entity"
                AND "t10"."act_day" >= "t17"."low"
                AND "t10"."act_day" <= "t17"."high"
            ) AS "t25"
          ) AS "t30"
          GROUP BY
            1
        ) AS "t36"
      ) AS "t58"
    ) AS "t61"
  ) AS "t74"
) AS "t76"
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t20"."period",
          'onboarding_completion:den' AS "key",
          CAST("t20"."value" AS DOUBLE) AS "value"
        FROM (
          SELECT
            "t14"."period",
            COUNT(*) AS "value"
          FROM "t12" AS "t14"
          GROUP BY
            1
        ) AS "t20"
      ) AS "t24"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            MIN("t0"."day") AS "period",
            'cynosure:first_day' AS "key",
            0.0 AS "value"
          FROM "cynosure_rollup" AS "t0"
        ) AS "t2"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            MAX("t0"."day") AS "period",
            'cynosure:last_day' AS "key",
            0.0 AS "value"
          FROM "cynosure_rollup" AS "t0"
        ) AS "t3"
      ) AS "t8"
    ) AS "t27"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'listening_hours' AS "key",
            "t28"."k_listening_hours" AS "value"
          FROM "t26" AS "t28"
        ) AS "t32"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'listeners' AS "key",
            CAST("t28"."k_listeners" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t39"
      ) AS "t48"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'song_plays' AS "key",
            CAST("t28"."k_song_plays" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t40"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'skips' AS "key",
            CAST("t28"."k_skips" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t41"
      ) AS "t49"
    ) AS "t54"
  ) AS "t59"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'playlist_adds' AS "key",
            CAST("t28"."k_playlist_adds" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t42"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'searches' AS "key",
            CAST("t28"."k_searches" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t43"
      ) AS "t50"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'cancellations' AS "key",
            CAST("t28"."k_cancellations" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t44"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'revenue' AS "key",
            "t28"."k_revenue" AS "value"
          FROM "t26" AS "t28"
        ) AS "t33"
      ) AS "t51"
    ) AS "t55"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'signups' AS "key",
            CAST("t28"."k_signups" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t45"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'signups_total' AS "key",
            CAST("t28"."k_signups_total" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t46"
      ) AS "t52"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'engaged_listeners' AS "key",
            CAST("t28"."k_engaged_listeners" AS DOUBLE) AS "value"
          FROM "t26" AS "t28"
        ) AS "t47"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t28"."period",
            'avg_song_minutes:num' AS "key",
            "t28"."k_avg_song_minutes__num" AS "value"
          FROM "t26" AS "t28"
        ) AS "t34"
      ) AS "t53"
    ) AS "t56"
  ) AS "t60"
) AS "t62"
