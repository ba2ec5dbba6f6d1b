"""The soak's figures (bench/soak_report.py): what counts as missing, how a duplicate is put
down to a cause, what is a flap or a recommendation drop, the RSS slope."""

from __future__ import annotations

import pytest
from soak_load import Processing
from soak_report import (
    Rewind,
    Sample,
    ScaleEvent,
    Window,
    drops,
    flaps,
    rss_figures,
    split_by_windows,
    topic_figures,
)

T = "ns.orders"
BROKER = Window("broker restarted", 100, 200)
OTHER = Window("pods of audit deleted", 300, 400, scope="audit")


def _seen(*times: float) -> list[Processing]:
    return [Processing(t, f"pod-{n}") for n, t in enumerate(times)]


def test_missing_is_what_was_delivered_and_never_processed() -> None:
    delivered = [(T, 0, 0), (T, 0, 1), (T, 1, 0)]
    figures = topic_figures("orders", delivered, 2, {(T, 0, 0): _seen(1), (T, 1, 0): _seen(2)},
                            [], None, [])
    assert (figures.produced, figures.failed, figures.processed, figures.missing) == (3, 2, 2, 1)
    assert not figures.duplicates


@pytest.mark.parametrize(("times", "rewind", "scales", "causes"), [
    ((10, 150), None, [], ["redelivery in window: broker restarted"]),
    ((10, 350), None, [], ["unexplained"]),  # another subscription's window does not explain it
    ((10, 250), None, [230], ["redelivery after a scale event's rebalance"]),
    ((10, 250), None, [210], ["unexplained"]),  # the scale event was too long before
    ((10, 250, 260), Rewind(((T, 0, 5, 20),), 240, 300), [],
     ["Rewind replay", "unexplained"]),  # the rewind explains one repeat, not two
    ((10, 250), Rewind(((T, 0, 5, 6),), 240, 300), [],
     ["Rewind replay"]),  # consumed after the plan, before the pause: replayed too
    ((10, 250), Rewind(((T, 0, 8, 9),), 240, 300), [], ["unexplained"]),  # not back over it
    ((10, 250), Rewind(((T, 1, 0, 9),), 240, 300), [], ["unexplained"]),  # another partition
    ((10, 350), Rewind(((T, 0, 5, 20),), 240, 300), [], ["unexplained"]),  # after it
])
def test_a_duplicate_is_put_down_to_its_cause(
        times: tuple[float, ...], rewind: Rewind | None, scales: list[float],
        causes: list[str]) -> None:
    position = (T, 0, 7)
    figures = topic_figures("orders", [position], 0, {position: _seen(*times)},
                            [BROKER, OTHER], rewind, scales)
    assert [cause for _, cause in figures.repeats] == causes
    assert sum(figures.duplicates.values()) == len(times) - 1


def test_overlapping_windows_blame_the_latest_disturbance() -> None:
    later = Window("leader killed", 150, 250)
    position = (T, 0, 0)
    figures = topic_figures("orders", [position], 0, {position: _seen(1, 160)}, [BROKER, later],
                            None, [])
    assert figures.repeats == [(160, "redelivery in window: leader killed")]


def _scale(t: float, before: int, after: int) -> ScaleEvent:
    return ScaleEvent(t, "orders", before, after, "")


def test_a_flap_is_a_reversal_within_a_minute_except_a_scale_to_zero() -> None:
    up, down = _scale(0, 1, 4), _scale(30, 4, 2)
    assert flaps([down, up]) == [(up, down)]
    assert flaps([up, _scale(90, 4, 2)]) == []  # after the minute
    assert flaps([up, _scale(30, 4, 0)]) == []  # to zero: after its cooldown
    assert flaps([up, _scale(20, 4, 6)]) == []  # the same direction
    again = _scale(40, 2, 4)
    assert flaps([down, again], bursts=[25]) == []  # up after a burst: new load
    assert flaps([down, again], bursts=[5]) == [(down, again)]  # the burst was long before


def test_drops_count_episodes_where_they_begin() -> None:
    samples = [Sample(t, "orders", lag, desired) for t, lag, desired in [
        (10, 2000, 4), (12, 2000, 1), (14, 1500, 1), (16, 900, 1),  # one episode, two samples
        (120, 5000, 0), (122, 5000, 3),  # one in the broker window
        (300, 5000, 1)]]  # another subscription's window: healthy for orders
    assert drops(samples, [BROKER, OTHER]) == {"healthy": (2, 3), "chaos": (1, 1)}


def test_events_are_split_by_the_windows_of_their_subscription() -> None:
    events = [(150, "orders"), (350, "orders"), (350, "audit"), (500, "audit")]
    assert split_by_windows(events, [BROKER, OTHER]) == (2, 2)


def test_rss_slope_is_per_hour_after_the_warm_up_and_only_over_minutes() -> None:
    # 200 MiB for the first minute (start-up), then +1 MiB a minute for ten minutes.
    samples = [(float(t), 200.0 if t < 60 else 200 + (t - 60) / 60) for t in range(0, 660, 5)]
    figures = rss_figures(samples)
    assert figures.slope_per_hour == pytest.approx(60)
    assert figures.late_slope_per_hour == pytest.approx(60)
    assert (figures.start, figures.end) == (200, samples[-1][1])
    assert rss_figures(samples[:40]).slope_per_hour is None  # 200 s: too short to say


def test_a_step_early_in_life_is_not_a_late_trend() -> None:
    # Standby at 75 MiB for three minutes, leader at 105 MiB for ten: flat once settled.
    samples = [(float(t), 75.0 if t < 180 else 105.0) for t in range(0, 780, 5)]
    figures = rss_figures(samples)
    assert figures.slope_per_hour is not None and figures.slope_per_hour > 50
    assert figures.late_slope_per_hour == pytest.approx(0)
