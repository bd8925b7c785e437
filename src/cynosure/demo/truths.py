"""The truths planted in the Tunewave demo, as named constants.

The demo is only useful for testing analyses if we know what they should find. Every effect
below is built into the simulation (:mod:`cynosure.demo.behaviour`) exactly as documented here,
so an analysis run on the demo data can be checked against these numbers.

1. **Aha moment** (``cynosure aha``). A user who makes at least ``AHA_AT_LEAST`` = 5
   ``playlist_add`` events within ``AHA_WITHIN_DAYS`` = 7 local days of signing up (days
   ``start <= d < start + 7``) has, from day 7 of their life on, a daily churn hazard multiplied by
   ``AHA_HAZARD_MULTIPLIER`` = 0.4 (a 60% lower hazard). Reaching it depends on a latent
   engagement trait (which also raises activity and lowers churn: a real confounder) and on
   chance. About 28% of users reach it; their week-4 retention is about 65% against about 21%
   for the others. The *causal* part is the hazard multiplier; the
   observed retention gap is larger because of the confounder.
2. **Leading input** (``cynosure leadlag``). An exogenous weekly *discovery* factor ``x_w``
   (AR(1) on the log scale with coefficient ``DISCOVERY_AR`` = 0.6 and innovation standard
   deviation ``DISCOVERY_SIGMA`` = 0.15, plus marketing pushes of ``MARKETING_PUSH_SIZE`` = 0.45
   in the weeks of ``MARKETING_PUSHES``) multiplies searches per active day in week ``w`` by
   ``exp(x_w)`` and songs per active day in week ``w + LEAD_WEEKS`` by
   ``exp(DISCOVERY_ELASTICITY * x_w)``, with ``LEAD_WEEKS`` = 2 and ``DISCOVERY_ELASTICITY`` =
   0.6. So ``searches`` (and ``searches_per_listener``) lead ``song_plays`` and
   ``listening_hours`` by exactly two weeks; on first differences the cross-correlation peaks
   at lag 2.
3. **Intervention on one segment** (``cynosure impact``). ``INTERVENTION_NAME`` ("Recommendations
   v2") launched on ``INTERVENTION_DATE`` = 2026-06-15 for ``INTERVENTION_SEGMENT`` =
   ``{platform: ios}``: from that day, iOS users play ``INTERVENTION_EFFECT`` = 12% more songs per
   active day. Nothing else changes, other platforms are unaffected.
4. **Incident in one segment** (``cynosure explain``). ``INCIDENT_NAME`` ("Android 4.2.0
   crash"): from ``INCIDENT_START`` = 2026-09-07 to ``INCIDENT_END`` = 2026-09-13 inclusive (a
   Monday-Sunday week) users in ``INCIDENT_SEGMENT`` = ``{platform: android, app_version:
   4.2.0}`` play ``INCIDENT_EFFECT`` = 70% fewer songs per active day. 4.2.0 was released on
   Android on ``INCIDENT_VERSION_RELEASED`` = 2026-08-24 and is the newest Android version that
   week, run by about 88% of active Android users. A server-side fix ends it on 2026-09-14.
   About 46% of listening happens on Android, so weekly listening hours lose about 28% that
   week (on top of the usual week-to-week noise) and recover the next.
5. **Vanity metric** (``cynosure candidates``). ``VANITY_METRIC`` = ``signups_total`` is a running
   count of ``signed_up`` events: it rises every week whatever value listeners get.
6. **Revenue follows the North Star.** On each active day a free user upgrades to premium with
   probability :func:`upgrade_probability` of the minutes they listened that day (0 for no
   listening, rising to ``UPGRADE_MAX_DAILY`` = 2% for heavy listeners). Premium users pay
   ``PREMIUM_PRICE`` = 9.99 on the day they subscribe and every ``BILLING_PERIOD_DAYS`` = 30
   days after while they stay premium and alive; each day a premium user cancels (back to
   free) with probability ``CANCEL_DAILY_PROBABILITY`` = 0.3%, and premium users who churn
   cancel on their last day. Revenue therefore follows listening hours with a lag.

Dates are absolute: a truth whose date lies outside the generated range (a non-default
``end`` or ``months``) is simply absent from the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

NORTH_STAR: Final = "listening_hours"

# 1. Aha moment.
AHA_EVENT: Final = "playlist_add"
AHA_AT_LEAST: Final = 5
AHA_WITHIN_DAYS: Final = 7
AHA_HAZARD_MULTIPLIER: Final = 0.4

# 2. Leading input.
LEAD_WEEKS: Final = 2
LEADER_METRIC: Final = "searches"
DISCOVERY_AR: Final = 0.6
DISCOVERY_SIGMA: Final = 0.15
DISCOVERY_ELASTICITY: Final = 0.6
MARKETING_PUSH_SIZE: Final = 0.45
MARKETING_PUSHES: Final = (date(2025, 11, 24), date(2026, 3, 2))

# 3. Intervention.
INTERVENTION_NAME: Final = "Recommendations v2"
INTERVENTION_DATE: Final = date(2026, 6, 15)
INTERVENTION_SEGMENT: Final[Mapping[str, str]] = MappingProxyType({"platform": "ios"})
INTERVENTION_EFFECT: Final = 0.12

# 4. Incident.
INCIDENT_NAME: Final = "Android 4.2.0 crash"
INCIDENT_START: Final = date(2026, 9, 7)
INCIDENT_END: Final = date(2026, 9, 13)
INCIDENT_SEGMENT: Final[Mapping[str, str]] = MappingProxyType(
    {"platform": "android", "app_version": "4.2.0"}
)
INCIDENT_EFFECT: Final = -0.70
INCIDENT_VERSION_RELEASED: Final = date(2026, 8, 24)

# 5. Vanity metric.
VANITY_METRIC: Final = "signups_total"

# 6. Revenue.
PREMIUM_PRICE: Final = 9.99
BILLING_PERIOD_DAYS: Final = 30
UPGRADE_MAX_DAILY: Final = 0.02
UPGRADE_MINUTES_SCALE: Final = 45.0
CANCEL_DAILY_PROBABILITY: Final = 0.003


def upgrade_probability(minutes: float) -> float:
    """Chance that a free user upgrades to premium on an active day.

    ``UPGRADE_MAX_DAILY * (1 - exp(-minutes / UPGRADE_MINUTES_SCALE))``: zero without
    listening, about 0.6% after 15 minutes, about 1.3% after 45 minutes, saturating at 2%.

    Args:
        minutes: Minutes of music the user played that day.

    Returns:
        The probability, between 0 and ``UPGRADE_MAX_DAILY``.
    """
    return UPGRADE_MAX_DAILY * (1.0 - math.exp(-max(minutes, 0.0) / UPGRADE_MINUTES_SCALE))


@dataclass(frozen=True)
class Truth:
    """One planted truth, in words, for the project file's header and for reports."""

    name: str
    analysis: str
    statement: str


TRUTHS: Final = (
    Truth(
        "aha moment",
        "aha",
        f">= {AHA_AT_LEAST} {AHA_EVENT} in the first {AHA_WITHIN_DAYS} days multiplies the "
        f"daily churn hazard by {AHA_HAZARD_MULTIPLIER} (confounded by engagement)",
    ),
    Truth(
        "leading input",
        "leadlag",
        f"a weekly discovery factor drives {LEADER_METRIC} in week w and song plays in week "
        f"w + {LEAD_WEEKS} (elasticity {DISCOVERY_ELASTICITY})",
    ),
    Truth(
        "intervention",
        "impact",
        f"{INTERVENTION_NAME} on {INTERVENTION_DATE.isoformat()}: iOS users play "
        f"{INTERVENTION_EFFECT:.0%} more songs per active day; other platforms unchanged",
    ),
    Truth(
        "incident",
        "explain",
        f"{INCIDENT_NAME}: {INCIDENT_START.isoformat()} to {INCIDENT_END.isoformat()}, Android "
        f"users on 4.2.0 play {-INCIDENT_EFFECT:.0%} fewer songs; weekly hours drop, then recover",
    ),
    Truth(
        "vanity metric",
        "candidates",
        f"{VANITY_METRIC} (cumulative signups) rises whatever value listeners get",
    ),
    Truth(
        "revenue follows listening",
        "leadlag",
        f"free users upgrade with a daily chance rising with minutes listened (up to "
        f"{UPGRADE_MAX_DAILY:.1%}); premium pays {PREMIUM_PRICE} every {BILLING_PERIOD_DAYS} days",
    ),
)
