from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.providers.ctm.ratelimit import (
    SAFETY_MARGIN,
    SendWindow,
    TokenBucket,
    limiter_for,
)


class FakeClock:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def grant_times(bucket: TokenBucket, clock: FakeClock, idles: list[float]) -> list[float]:
    """Acquire once per entry of ``idles``, idling that long first; return when each
    acquisition returned."""
    times = []
    for idle in idles:
        clock.now += idle
        bucket.acquire()
        times.append(clock.now)
    return times


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of times within any closed interval of length ``window``."""
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window + 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize(("rate", "burst"), [(10.0, 1), (10.0, 3), (200.0, 1), (0.5, 2)])
@pytest.mark.parametrize("window", [0.25, 1.0, 5.0])
def test_steady_demand_never_exceeds_rate_times_window_plus_burst(
    rate: float, burst: int, window: float
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)

    times = grant_times(bucket, clock, [0.0] * 400)

    assert most_in_any_window(times, window) <= math.floor(rate * window + 1e-9) + burst
    # and the bucket is not slower than its rate either
    assert times[-1] - times[0] == pytest.approx((400 - burst) / rate)


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=500.0),
    burst=st.integers(min_value=1, max_value=4),
    idles=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=3.0)), min_size=1, max_size=200
    ),
)
def test_any_demand_pattern_stays_within_the_bound(
    rate: float, burst: int, idles: list[float]
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)

    times = grant_times(bucket, clock, idles)

    for window in (0.1, 1.0, 2.5):
        assert most_in_any_window(times, window) <= rate * window + burst + 1e-6


def test_after_an_idle_spell_only_the_burst_goes_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, 2, clock=clock, sleep=clock.sleep)
    grant_times(bucket, clock, [0.0] * 10)

    times = grant_times(bucket, clock, [60.0] + [0.0] * 3)

    assert times[1] == times[0]
    assert times[2] == pytest.approx(times[0] + 0.2)
    assert times[3] == pytest.approx(times[0] + 0.4)


def test_concurrent_workers_each_get_their_own_slot() -> None:
    # A frozen clock: every waiter sleeps for the slot it reserved, so a race between
    # threads would show up as two workers given the same wait.
    clock = FakeClock()
    waits: list[float] = []
    waits_lock = threading.Lock()

    def record(seconds: float) -> None:
        with waits_lock:
            waits.append(seconds)

    bucket = TokenBucket(50.0, 2, clock=clock, sleep=record)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(25):
            bucket.acquire()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Two tokens were free; the other 198 workers waited 1/50 s, 2/50 s, ... each.
    assert len(waits) == 198
    assert sorted(waits) == pytest.approx([k / 50.0 for k in range(1, 199)])


def test_limiter_for_keeps_every_second_below_the_configured_rate() -> None:
    clock = FakeClock()
    limiter = limiter_for(200.0, clock=clock, sleep=clock.sleep)

    times = []
    for _ in range(2000):
        limiter.acquire()
        times.append(clock.now)

    assert limiter.bucket.rate == pytest.approx(200.0 * SAFETY_MARGIN)
    assert limiter.bucket.burst == 1
    assert limiter.window.limit == 195
    # slack for scheduling jitter between taking a token and the server counting it
    assert most_in_any_window(times, 1.0) <= 195


def sent_times(window: SendWindow, clock: FakeClock, arrivals: list[float]) -> list[float]:
    """Pass each arrival (in time order) through ``window``; return when each was sent."""
    times = []
    for arrival in sorted(arrivals):
        clock.now = max(clock.now, arrival)
        window.acquire()
        times.append(clock.now)
    return times


def test_workers_that_wake_late_cannot_crowd_a_second() -> None:
    # What the benchmark at 100/s showed: the bucket hands out slots 1/97 s apart, but
    # the first four workers wake from their wait 40 ms late and send among the next
    # workers. Measured on send times, the bucket alone then crowds a second past 100.
    clock = FakeClock()
    limiter = limiter_for(100.0, clock=clock, sleep=clock.sleep)
    slots = [1000.0 + k / limiter.bucket.rate for k in range(400)]
    late = [0.04 if k < 4 else 0.0 for k in range(400)]
    unguarded = [slot + delay for slot, delay in zip(slots, late, strict=True)]
    assert most_in_any_window(sorted(unguarded), 1.0) > 100

    guarded = sent_times(limiter.window, clock, unguarded)

    # (half-open, as CTM and the simulator count: a request 1 s after another may go)
    assert most_in_any_window(guarded, 1.0 - 1e-6) <= limiter.window.limit == 98
    assert all(sent >= wanted for sent, wanted in zip(guarded, sorted(unguarded), strict=True))


@settings(max_examples=80, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=50),
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.5)), min_size=1, max_size=300
    ),
)
def test_no_window_of_send_times_holds_more_than_the_limit(limit: int, gaps: list[float]) -> None:
    clock = FakeClock()
    window = SendWindow(limit, 1.0, clock=clock, sleep=clock.sleep)
    arrivals = [1000.0 + sum(gaps[: i + 1]) for i in range(len(gaps))]

    times = sent_times(window, clock, arrivals)

    assert most_in_any_window(times, 1.0 - 1e-6) <= limit
    # and it holds nothing back that fits: the first `limit` arrivals go at once
    assert times[: min(limit, len(times))] == sorted(arrivals)[: min(limit, len(times))]


@pytest.mark.parametrize(
    ("rate", "burst", "problem"),
    [
        (0.0, 1, "rate must be positive"),
        (-1.0, 1, "rate must be positive"),
        (math.nan, 1, "rate must be positive"),
        (5.0, 0, "burst must be at least 1"),
    ],
)
def test_rejects_a_rate_or_burst_that_cannot_work(rate: float, burst: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TokenBucket(rate, burst)


def test_repr_names_rate_and_burst() -> None:
    assert repr(TokenBucket(12.5, 2)) == "TokenBucket(rate=12.5, burst=2)"
