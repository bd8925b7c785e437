"""The ``cynosure.yml`` of the Teamspace demo: metrics, tree, targets and interventions."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import date
from string import Template

from cynosure.demo.project_file import MARKER, TARGET_GROWTH, nice_round, target_date
from cynosure.demo.teamspace import truths

PRODUCT_OPTION = "--product teamspace"

# string.Template ($name) rather than str.format, because YAML flow mappings use braces.
_TEMPLATE = Template(
    """$marker $option (seed $seed, $members members, $start to $end).
# Teamspace is a synthetic B2B team-chat app. Its data hides these planted truths (exact sizes
# in cynosure/demo/teamspace/truths.py; days are local days in $timezone):
$truths
# Regenerating the demo replaces this file and the data/ folder.

project: $product
timezone: $timezone
week_start: sunday

events:
  source: data/events/*.parquet
  entity: member_id
  time: sent_at
  name: action
  dimensions: [company_size, platform, region]
  properties: [characters, amount]

entities:
  source: data/members.parquet
  key: member_id
  created: joined_at

metrics:
  messages_sent:
    label: Messages sent
    description: Messages members send each other — the value teams come for.
    owner: Messaging team
    candidate: true
    count: true
    where: "action = 'message_sent'"
  active_members:
    label: Active members
    description: Members who did anything in the app (invoices aside).
    owner: Growth team
    candidate: true
    users: true
    where: "action <> 'invoice_paid'"
  messages_per_member:
    label: Messages per member
    description: How much each active member talks.
    owner: Messaging team
    ratio: [messages_sent, active_members]
  new_members:
    label: New members
    description: Members active for the first time.
    owner: Growth team
    users: true
    where: "action <> 'invoice_paid'"
    lifecycle: new
  retained_members:
    label: Retained members
    description: Members also active the period before.
    owner: Growth team
    users: true
    where: "action <> 'invoice_paid'"
    lifecycle: retained
  resurrected_members:
    label: Resurrected members
    description: Members back after at least one silent period.
    owner: Growth team
    users: true
    where: "action <> 'invoice_paid'"
    lifecycle: resurrected
  churned_members:
    label: Churned members
    description: Members active the period before who were silent this period.
    owner: Growth team
    users: true
    where: "action <> 'invoice_paid'"
    lifecycle: churned
  files_shared:
    label: Files shared
    description: Files shared in channels and direct messages.
    owner: Collaboration team
    count: true
    where: "action = 'file_shared'"
  files_per_member:
    label: Files per member
    description: How much each active member shares.
    owner: Collaboration team
    ratio: [files_shared, active_members]
  channel_joins:
    label: Channel joins
    description: Channels joined by members.
    owner: Onboarding team
    count: true
    where: "action = 'channel_joined'"
  reactions:
    label: Reactions
    description: Emoji reactions added to messages.
    owner: Messaging team
    count: true
    where: "action = 'reaction_added'"
  huddles:
    label: Huddles
    description: Audio huddles started.
    owner: Collaboration team
    count: true
    where: "action = 'huddle_started'"
  invites:
    label: Invites
    description: Colleagues invited to the workspace.
    owner: Growth team
    count: true
    where: "action = 'invite_sent'"
  members_joined:
    label: Members joined
    description: Members who joined a workspace.
    owner: Growth team
    count: true
    where: "action = 'joined'"
  revenue:
    label: Revenue
    description: Seat invoices paid.
    owner: Revenue team
    candidate: true
    unit: USD
    sum: amount
    where: "action = 'invoice_paid'"
  week4_retention:
    label: Week-4 retention
    description: Share of new members active in their fifth week (days 28 to 34).
    owner: Growth team
    retention: {after: 28d}
  channel_activation:
    label: Channel activation
    description: Share of new members joining a channel within three days.
    owner: Onboarding team
    conversion: {event: channel_joined, within: 3d}
  page_views_total:
    label: Total page views
    description: All pages ever viewed — always up, whatever members get.
    owner: Web team
    candidate: true
    count: true
    where: "action = 'page_viewed'"
    cumulative: true
  engaged_members:
    label: Engaged members
    description: Members who sent messages on at least three days of the period.
    owner: Messaging team
    threshold: {at_least: 3, unit: days, where: "action = 'message_sent'"}
  message_length:
    label: Characters per message
    description: Average length of a message.
    owner: Messaging team
    mean: characters
    where: "action = 'message_sent'"

north_star: $north_star
tree:
  messages_sent: active_members * messages_per_member
  active_members: new_members + retained_members + resurrected_members
  messages_per_member: [files_per_member, channel_joins]
guardrails: [churned_members, message_length]
outcomes: [revenue, week4_retention]
$targets$interventions"""
)


def render(
    *,
    seed: int,
    members: int,
    start: date,
    end: date,
    month: str | None = None,
    month_messages: float | None = None,
) -> str:
    """The text of the Teamspace demo's ``cynosure.yml``.

    Args:
        seed: Seed the data was generated with.
        members: Number of members generated.
        start: First day of data.
        end: Last day of data.
        month: Label (``2026-10``) of the last whole month of data, for the target.
        month_messages: Messages sent in that month; without it no target is written.

    Returns:
        The YAML text.
    """
    targets = ""
    if month_messages is not None and month_messages > 0:
        value = nice_round(month_messages * (1.0 + TARGET_GROWTH))
        targets = (
            f"targets:  # monthly messages, {TARGET_GROWTH:.0%} above {month} "
            f"({month_messages:,.0f})\n"
            f"  - {{metric: {truths.NORTH_STAR}, value: {value}, by: {target_date(end)}, "
            f"grain: month}}\n"
        )
    entries = [
        _intervention(truths.INTERVENTION_NAME, truths.INTERVENTION_DATE, None, _THREADS),
        _intervention(truths.INCIDENT_NAME, truths.INCIDENT_START, truths.INCIDENT_END, _OUTAGE),
    ]
    dated = [text for day, text in entries if start <= day <= end]
    return _TEMPLATE.substitute(
        marker=MARKER,
        option=PRODUCT_OPTION,
        seed=seed,
        members=f"{members:,}",
        start=start,
        end=end,
        timezone=truths.TIMEZONE,
        truths="\n".join(_truth_lines()),
        product=truths.PRODUCT,
        north_star=truths.NORTH_STAR,
        targets=targets,
        interventions="interventions:\n" + "".join(dated) if dated else "",
    )


_THREADS = (truths.INTERVENTION_SEGMENT, "Threaded replies launched on desktop.")
_OUTAGE = (truths.INCIDENT_SEGMENT, "Mobile clients could not sync for a week.")


def _intervention(
    name: str, day: date, end: date | None, about: tuple[Mapping[str, str], str]
) -> tuple[date, str]:
    """One entry of ``interventions:``, with its date for filtering by the data's range."""
    segment, description = about
    pairs = ", ".join(f'{key}: "{value}"' for key, value in segment.items())
    lines = [f"  - name: {name}", f"    date: {day}"]
    if end is not None:
        lines.append(f"    end: {end}")
    lines += [f"    segment: {{{pairs}}}", f"    description: {description}"]
    return day, "\n".join(lines) + "\n"


def _truth_lines() -> list[str]:
    """The planted truths as numbered comment lines for the file's header."""
    return [
        textwrap.fill(
            f"{number}. {truth.name} — see `cynosure {truth.analysis}`: {truth.statement}",
            width=98,
            initial_indent="#   ",
            subsequent_indent="#      ",
        )
        for number, truth in enumerate(truths.TRUTHS, start=1)
    ]
