"""The truths planted in the Teamspace demo, as named constants.

Teamspace is a second demo product, shaped unlike Tunewave (other column names, a local time
zone, Sunday weeks, other effect sizes and lags), so that an analysis tuned to one dataset shows
it. Every effect below is built into the simulation (:mod:`cynosure.demo.teamspace.behaviour`
and :mod:`cynosure.demo.teamspace.world`) exactly as documented here. Days are local days in
``TIMEZONE`` and weeks start on Sunday.

1. **Aha moment** (``cynosure aha``). A member who makes at least ``AHA_AT_LEAST`` = 3
   ``channel_joined`` events within ``AHA_WITHIN_DAYS`` = 3 local days of joining (days
   ``start <= d < start + 3``) has, from day 3 of their life on, a daily churn hazard multiplied
   by ``AHA_HAZARD_MULTIPLIER`` = 0.35. Early channel joins are Poisson around about 2 in those
   three days, more for members with a higher latent engagement trait (which also raises
   activity and lowers churn: a real confounder), so every threshold from 1 to 5 has members on
   both sides and the causal step is exactly at 3. About 30% of members reach it. No other
   early behaviour changes churn except through the engagement trait.
2. **Leading input** (``cynosure leadlag``). An exogenous weekly *sharing* factor ``x_w``
   (AR(1) on the log scale with coefficient ``SHARING_AR`` = 0.6 and innovation standard
   deviation ``SHARING_SIGMA`` = 0.15, plus pushes of ``SHARING_PUSH_SIZE`` = 0.45 in the weeks
   of ``SHARING_PUSHES``) multiplies files shared per active day in week ``w`` by ``exp(x_w)``
   and messages per active day in week ``w + LEAD_WEEKS`` by ``exp(SHARING_ELASTICITY * x_w)``,
   with ``LEAD_WEEKS`` = 3 and ``SHARING_ELASTICITY`` = 0.6. So ``files_per_member`` leads
   ``messages_per_member`` (and ``messages_sent``) by exactly three weeks.
3. **Vanity metric** (``cynosure candidates``). ``VANITY_METRIC`` = ``page_views_total`` is a
   running count of ``page_viewed`` events. Page views are noise: a fixed Poisson number
   (mean 1) per active day, whatever the member's engagement, so they say nothing of retention
   or revenue beyond how many days a member was active (in the first three days, when activity
   does not depend on engagement, their count does not predict retention at all).
4. **Revenue follows the North Star.** Members start on the free plan. On each active day a
   free member upgrades to a paid seat with probability :func:`upgrade_probability` of the
   messages they sent that day (0 without messages, rising to ``UPGRADE_MAX_DAILY`` = 2.5%).
   A paid member is invoiced (``invoice_paid`` with ``amount`` = the seat price of their
   company size, ``SEAT_PRICES``) on the day they upgrade and every ``BILLING_PERIOD_DAYS`` =
   30 days after while they stay alive; seats are never cancelled otherwise.
5. **Intervention on one segment** (``cynosure impact``). ``INTERVENTION_NAME`` ("Threads")
   launched on ``INTERVENTION_DATE`` = 2026-04-14 for ``INTERVENTION_SEGMENT`` = ``{platform:
   desktop}``: from that day desktop members send ``INTERVENTION_EFFECT`` = 10% more messages
   per active day. Other platforms are unaffected.
6. **Incident in one segment** (``cynosure explain``). ``INCIDENT_NAME`` ("Mobile sync
   outage"): from ``INCIDENT_START`` = 2026-08-16 to ``INCIDENT_END`` = 2026-08-22 inclusive (a
   Sunday-Saturday week) members in ``INCIDENT_SEGMENT`` = ``{platform: mobile}`` send
   ``INCIDENT_EFFECT`` = 60% fewer messages per active day. It ends with that week.

Other shapes: the product is a B2B app, so weekends are quiet (far fewer active members, and
fewer messages per active member) and joins happen on working days; joins grow over the year.
Dates are absolute: a truth whose date lies outside the generated range is absent from the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from cynosure.demo.truths import Truth

PRODUCT: Final = "Teamspace"
TIMEZONE: Final = "America/New_York"
NORTH_STAR: Final = "messages_sent"

# 1. Aha moment.
AHA_EVENT: Final = "channel_joined"
AHA_AT_LEAST: Final = 3
AHA_WITHIN_DAYS: Final = 3
AHA_HAZARD_MULTIPLIER: Final = 0.35

# 2. Leading input.
LEAD_WEEKS: Final = 3
LEADER_METRIC: Final = "files_per_member"
FOLLOWER_METRIC: Final = "messages_per_member"
SHARING_AR: Final = 0.6
SHARING_SIGMA: Final = 0.15
SHARING_ELASTICITY: Final = 0.6
SHARING_PUSH_SIZE: Final = 0.45
SHARING_PUSHES: Final = (date(2026, 1, 11), date(2026, 6, 7))

# 3. Vanity metric.
VANITY_METRIC: Final = "page_views_total"

# 4. Revenue.
SEAT_PRICES: Final[Mapping[str, float]] = MappingProxyType(
    {"small": 8.0, "mid": 12.0, "large": 15.0}
)
BILLING_PERIOD_DAYS: Final = 30
UPGRADE_MAX_DAILY: Final = 0.025
UPGRADE_MESSAGES_SCALE: Final = 6.0

# 5. Intervention.
INTERVENTION_NAME: Final = "Threads"
INTERVENTION_DATE: Final = date(2026, 4, 14)
INTERVENTION_SEGMENT: Final[Mapping[str, str]] = MappingProxyType({"platform": "desktop"})
INTERVENTION_EFFECT: Final = 0.10

# 6. Incident.
INCIDENT_NAME: Final = "Mobile sync outage"
INCIDENT_START: Final = date(2026, 8, 16)
INCIDENT_END: Final = date(2026, 8, 22)
INCIDENT_SEGMENT: Final[Mapping[str, str]] = MappingProxyType({"platform": "mobile"})
INCIDENT_EFFECT: Final = -0.60


def upgrade_probability(messages: float) -> float:
    """Chance that a free member upgrades to a paid seat on an active day.

    ``UPGRADE_MAX_DAILY * (1 - exp(-messages / UPGRADE_MESSAGES_SCALE))``: zero without
    messages, about 1.2% after 4 messages, about 2.2% after 12, saturating at 2.5%.

    Args:
        messages: Messages the member sent that day.

    Returns:
        The probability, between 0 and ``UPGRADE_MAX_DAILY``.
    """
    return UPGRADE_MAX_DAILY * (1.0 - math.exp(-max(messages, 0.0) / UPGRADE_MESSAGES_SCALE))


TRUTHS: Final = (
    Truth(
        "aha moment",
        "aha",
        f">= {AHA_AT_LEAST} {AHA_EVENT} in the first {AHA_WITHIN_DAYS} local days multiplies "
        f"the daily churn hazard by {AHA_HAZARD_MULTIPLIER} (confounded by engagement)",
    ),
    Truth(
        "leading input",
        "leadlag",
        f"a weekly sharing factor drives files shared in week w and messages in week "
        f"w + {LEAD_WEEKS} (elasticity {SHARING_ELASTICITY}): {LEADER_METRIC} leads "
        f"{FOLLOWER_METRIC} by {LEAD_WEEKS} weeks",
    ),
    Truth(
        "vanity metric",
        "candidates",
        f"{VANITY_METRIC} (cumulative page views) rises whatever value members get; page views "
        "are noise, unrelated to retention",
    ),
    Truth(
        "revenue follows messages",
        "leadlag",
        f"free members upgrade with a daily chance rising with messages sent (up to "
        f"{UPGRADE_MAX_DAILY:.1%}); a seat is invoiced every {BILLING_PERIOD_DAYS} days",
    ),
    Truth(
        "intervention",
        "impact",
        f"{INTERVENTION_NAME} on {INTERVENTION_DATE.isoformat()}: desktop members send "
        f"{INTERVENTION_EFFECT:.0%} more messages per active day; other platforms unchanged",
    ),
    Truth(
        "incident",
        "explain",
        f"{INCIDENT_NAME}: {INCIDENT_START.isoformat()} to {INCIDENT_END.isoformat()}, mobile "
        f"members send {-INCIDENT_EFFECT:.0%} fewer messages per active day, then recover",
    ),
)
