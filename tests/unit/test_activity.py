"""Event activity from sampled log-end offsets (core.activity)."""

from __future__ import annotations

from eventsub.core.activity import ActivityTracker

X = ("c1", "x")


def test_rate_and_last_message_time() -> None:
    tracker = ActivityTracker(window=60)
    tracker.observe({X: 100}, now=1000.0)
    assert tracker.activity(X).messages_per_second is None  # one sample: no rate yet
    tracker.observe({X: 150}, now=1010.0)
    tracker.observe({X: 150}, now=1020.0)
    activity = tracker.activity(X)
    assert activity.messages_per_second == 2.5  # 50 messages over 20 s
    assert activity.last_message_time == 1010.0


def test_a_silent_event_has_a_rate_of_zero_and_no_last_message() -> None:
    tracker = ActivityTracker(window=60)
    for t in (0.0, 5.0, 10.0):
        tracker.observe({X: 7}, now=t)
    assert tracker.activity(X).messages_per_second == 0.0
    assert tracker.activity(X).last_message_time is None


def test_the_rate_covers_the_window_only() -> None:
    tracker = ActivityTracker(window=60)
    tracker.observe({X: 0}, now=0.0)
    tracker.observe({X: 6000}, now=10.0)  # a burst long ago
    for t in range(20, 200, 10):
        tracker.observe({X: 6000 + (t - 10)}, now=float(t))  # then 1 message/s
    assert tracker.activity(X).messages_per_second == 1.0


def test_forgotten_events_and_unknown_ones() -> None:
    tracker = ActivityTracker()
    tracker.observe({X: 1, ("c1", "y"): 2}, now=0.0)
    tracker.forget([X])
    assert tracker.activity(("c1", "y")) is None
    assert set(tracker.all()) == {X}
