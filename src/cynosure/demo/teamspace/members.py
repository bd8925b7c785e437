"""Who the Teamspace members are: when they join, their company, platform, region and trait."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo.teamspace import world as w
from cynosure.demo.teamspace.world import World

# (share of members, shift of the engagement trait): large companies roll the tool out to
# everyone and use it more; small teams are more often just trying it.
COMPANY_SIZE_MIX: tuple[tuple[float, float], ...] = ((0.45, -0.15), (0.33, 0.05), (0.22, 0.25))
PLATFORM_SHARES = (0.42, 0.28, 0.30)
REGION_SHARES = (0.38, 0.22, 0.22, 0.10, 0.08)

# Local hour of work activity: a morning peak and a longer afternoon one.
_WORKDAY = ((0.45, 10.5, 1.5), (0.55, 15.0, 2.0))
# Moments are kept between 06:00 and 23:00 local time (see World.utc_micros).
FIRST_SECOND = 6 * 3600.0
LAST_SECOND = 23 * 3600.0
LAST_JOIN_SECOND = 20 * 3600.0


@dataclass(frozen=True)
class Members:
    """One chunk of members, one entry per member.

    Attributes:
        join_day: Day index (from ``World.start``) of joining.
        join_sec: Seconds into that local day of joining.
        company_size: Index into ``world.COMPANY_SIZES``.
        platform: Index into ``world.PLATFORMS``.
        region: Index into ``world.REGIONS``.
        trait: Latent engagement (standard normal, shifted by company size): more activity,
            messages and early channel joins, lower churn. The confounder of the aha moment.
    """

    join_day: np.ndarray
    join_sec: np.ndarray
    company_size: np.ndarray
    platform: np.ndarray
    region: np.ndarray
    trait: np.ndarray

    def __len__(self) -> int:
        return len(self.join_day)


def draw_members(rng: np.random.Generator, world: World, n: int) -> Members:
    """Draw ``n`` members who join between ``world.start`` and ``world.end``.

    Args:
        rng: The chunk's random generator.
        world: Shared conditions (the join rate per day).
        n: Number of members.

    Returns:
        The members, in no particular order of joining.
    """
    join_day = rng.choice(world.days, size=n, p=world.join_weight / world.join_weight.sum())
    shares, shifts = (np.array(x) for x in zip(*COMPANY_SIZE_MIX, strict=True))
    size = rng.choice(len(w.COMPANY_SIZES), size=n, p=shares / shares.sum())
    platform = rng.choice(len(w.PLATFORMS), size=n, p=np.array(PLATFORM_SHARES))
    region = rng.choice(len(w.REGIONS), size=n, p=np.array(REGION_SHARES))
    # Nobody joins late in the evening, so the first day has room for a session after joining.
    join_sec = np.minimum(work_seconds(rng, n), LAST_JOIN_SECOND)
    return Members(
        join_day=join_day.astype(np.int64),
        join_sec=join_sec,
        company_size=size.astype(np.int8),
        platform=platform.astype(np.int8),
        region=region.astype(np.int8),
        trait=rng.normal(0.0, 1.0, n) + shifts[size],
    )


def work_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the local day of ``n`` moments drawn from the working-day pattern.

    Args:
        rng: Random generator.
        n: Number of moments.

    Returns:
        Seconds between ``FIRST_SECOND`` and ``LAST_SECOND``.
    """
    weights, means, sds = (np.array(x) for x in zip(*_WORKDAY, strict=True))
    component = rng.choice(len(weights), size=n, p=weights)
    hour = rng.normal(means[component], sds[component])
    return np.clip(hour * 3600.0, FIRST_SECOND, LAST_SECOND)
