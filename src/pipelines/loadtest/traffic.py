"""The load test's traffic over time: a warm-up ramp, a steady load, and periodic bursts.

The reference design load-tested its vLLM service with flat traffic and missed the latency death spiral
that bursts set off in production (CPU-based autoscaling, smaller batches, more pods). A burst here
multiplies the concurrent users within a second or two and holds them long enough for the request
queue to build, which is what queue-based autoscaling must absorb. The schedule is a pure function of
elapsed time, so it is the same on every run and testable without Locust.
"""

from __future__ import annotations

import math

from common.settings import LoadTestProfile


def burst_users(profile: LoadTestProfile) -> int:
    return max(profile.users, math.ceil(profile.users * profile.burst_factor))


def in_burst(profile: LoadTestProfile, elapsed_s: float) -> bool:
    """Whether `elapsed_s` falls in a burst: the last `burst_s` of each `burst_every_s` after the warm-up,
    so that every burst is preceded by steady load it can be compared with."""
    if profile.burst_s <= 0 or elapsed_s < profile.warmup_s:
        return False
    into_period = (elapsed_s - profile.warmup_s) % profile.burst_every_s
    return into_period >= profile.burst_every_s - profile.burst_s


def target(profile: LoadTestProfile, elapsed_s: float) -> tuple[int, float] | None:
    """(concurrent users, users started or stopped per second) at `elapsed_s`; None once the run is over.

    During the warm-up the target is the steady load at a spawn rate that reaches it when the warm-up
    ends (Locust ramps at that rate), so a scaled-to-zero service sees load grow rather than jump.
    """
    if elapsed_s >= profile.duration_s:
        return None
    if elapsed_s < profile.warmup_s:
        return profile.users, profile.users / profile.warmup_s
    if in_burst(profile, elapsed_s):
        return burst_users(profile), profile.burst_spawn_rate
    return profile.users, profile.burst_spawn_rate
