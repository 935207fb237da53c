"""Smoothing, events, counters and votes on hand-made probability sequences with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from actkit.streaming.postprocess import (EMA, Event, Hysteresis, KofNVote, MovingAverage, count_events, count_repetitions,
                                       detect_events, ema, make_smoother, moving_average, parse_vote, vote)
from actkit.streaming.metrics import RssProbe, count_mae, frame_accuracy, match_events


def test_moving_average_is_causal_and_matches_offline():
    x = np.array([0, 0, 3, 3, 3, 0], np.float32)
    assert np.allclose(moving_average(x, 3), [0, 0, 1, 2, 3, 2])
    m = MovingAverage(3)
    assert np.allclose([m.update(v) for v in x], moving_average(x, 3))
    two = np.stack([x, 1 - x], 1)
    assert moving_average(two, 2).shape == (6, 2)
    with pytest.raises(ValueError):
        MovingAverage(0)


def test_ema_values_and_window_mapping():
    assert np.allclose(ema(np.array([1.0, 0.0, 0.0]), 0.5), [1.0, 0.5, 0.25])
    assert EMA.from_window(3).alpha == pytest.approx(0.5)
    assert isinstance(make_smoother("ema", 3), EMA) and isinstance(make_smoother("mean", 3), MovingAverage)
    assert np.allclose(make_smoother(None).update(np.array([0.2, 0.8])), [0.2, 0.8])
    with pytest.raises(ValueError, match="unknown smoothing"):
        make_smoother("median", 3)


def test_sticky_hmm_filter_is_the_forward_recursion_and_ignores_brief_flickers():
    from actkit.streaming.postprocess import StickyFilter

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=12)
    f = make_smoother("hmm", 4)
    assert isinstance(f, StickyFilter)
    A = np.full((3, 3), 0.25 / 2)
    np.fill_diagonal(A, 0.75)  # stay 1 - 1/4, leave to either other class alike
    a = p[0] / p[0].sum()
    np.testing.assert_allclose(f.update(p[0]), a, atol=1e-6)
    for x in p[1:]:
        a = (a @ A) * x
        a /= a.sum()
        np.testing.assert_allclose(f.update(x), a, atol=1e-6)
    # class 0 for 20 frames, a 2-frame flicker to class 1, class 0 again; then a lasting change to class 2
    seq = np.array([[0.7, 0.2, 0.1]] * 20 + [[0.3, 0.6, 0.1]] * 2 + [[0.7, 0.2, 0.1]] * 5 + [[0.1, 0.2, 0.7]] * 6)
    g = make_smoother("hmm", 20)
    labels = [int(np.argmax(g.update(x))) for x in seq]
    assert labels[:27] == [0] * 27  # the flicker never shows
    assert labels[-1] == 2 and labels.index(2) <= 29  # a confident change within 3 frames
    raw = [int(np.argmax(x)) for x in seq]
    assert raw[20:22] == [1, 1]  # (without the filter it would)


def test_hmm_groups_let_an_exercise_alternate_its_positions():
    # classes: idle, squat_high, squat_low; positions alternate every 3 frames while the label stays
    seq = np.array(([[0.05, 0.85, 0.10]] * 3 + [[0.05, 0.10, 0.85]] * 3) * 4)
    grouped = make_smoother("hmm", 30, ["idle", "squat", "squat"])
    plain = make_smoother("hmm", 30)
    g = [int(np.argmax(grouped.update(x))) for x in seq]
    q = [int(np.argmax(plain.update(x))) for x in seq]
    assert g == [int(np.argmax(x)) for x in seq]  # the positions are followed frame by frame
    assert q.count(2) < g.count(2)  # without groups the filter holds on to one position
    with pytest.raises(ValueError, match="groups"):
        make_smoother("hmm", 5, ["a", "b"]).update(np.ones(3) / 3)


def test_hysteresis_events_with_minimum_duration():
    p = np.array([0.1, 0.6, 0.4, 0.3, 0.2, 0.1, 0.9, 0.1, 0.1, 0.7, 0.8])
    # on > 0.5, off < 0.25: event 1..3 (frame 4 drops below 0.25), a 1-frame blip at 6, one open at the end
    assert detect_events(p, on=0.5, label="x") == [Event("x", 1, 3), Event("x", 6, 6), Event("x", 9, 10)]
    assert detect_events(p, on=0.5, min_frames=2, label="x") == [Event("x", 1, 3), Event("x", 9, 10)]
    h = Hysteresis("x", 0.5)
    got = [h.update(v, i) for i, v in enumerate(p[:5])]
    assert got[:4] == [None] * 4 and got[4] == Event("x", 1, 3) and not h.active
    with pytest.raises(ValueError):
        Hysteresis("x", on=0.3, off=0.6)


def test_hysteresis_hold_bridges_short_dips_only():
    """A dip below off lasting <= hold frames continues the event; a longer one ends it on the frame before
    the dip, reported hold frames later; an event open at the end closes before a dip in progress."""
    p = np.array([0.0, 0.9, 0.9, 0.1, 0.1, 0.3, 0.9, 0.1, 0.1, 0.1, 0.1, 0.0, 0.8, 0.1])
    assert detect_events(p, on=0.5, label="x") == [Event("x", 1, 2), Event("x", 6, 6), Event("x", 12, 12)]
    # the 2-frame dip (3-4) is bridged by hold 2 (frame 5 is back above off), the 4-frame one (7-10) is not
    assert detect_events(p, on=0.5, hold=2, label="x") == [Event("x", 1, 6), Event("x", 12, 12)]
    assert detect_events(p, on=0.5, hold=4, label="x") == [Event("x", 1, 6), Event("x", 12, 12)]
    assert detect_events(p, on=0.5, hold=5, label="x") == [Event("x", 1, 12)]
    h = Hysteresis("x", 0.5, hold=2)
    got = [h.update(v, i) for i, v in enumerate(p)]
    assert [i for i, e in enumerate(got) if e] == [9] and got[9] == Event("x", 1, 6)  # known at frame 7 + 2
    assert h.flush() == Event("x", 12, 12)  # frame 13 is a dip in progress: the event ends before it
    with pytest.raises(ValueError, match="hold"):
        Hysteresis("x", 0.5, hold=-1)


def test_event_counter_reference_rule():
    # t = 0.6: count on > 0.6, re-arm only below 0.3; the dip to 0.4 must not re-arm
    p = [0.0, 0.7, 0.4, 0.7, 0.2, 0.9, 0.1, 0.61]
    assert count_events(p, 0.6) == 3
    assert count_events(p, 0.6, rearm=0.45) == 4


def test_repetition_counter_two_positions():
    #        up   down  mid   up   down  up   down(no return)
    p1 = np.array([0.1, 0.9, 0.5, 0.1, 0.8, 0.1, 0.9])
    p0 = 1 - p1
    assert count_repetitions(p0, p1, t1=0.7, t0=0.7) == 2
    # position 0 alone never counts
    assert count_repetitions(np.ones(5), np.zeros(5)) == 0
    assert count_repetitions(p0, p1, t1=0.7, t0=0.7, relative=False) == 2  # p0 + p1 = 1: the same counter


def test_relative_repetition_counter_follows_the_positions_given_the_exercise():
    """A model that gives the exercise only 0.5 in all (the rest to a look-alike exercise) still moves
    between its two positions: the relative counter counts every rep, the absolute one none; frames where
    the exercise holds almost nothing (idle noise) are ignored."""
    reps = 4
    up, down = np.array([0.4, 0.1]), np.array([0.1, 0.4])  # (p_high, p_low), sum 0.5
    idle_noise = [np.array([0.02, 0.05]), np.array([0.06, 0.01])] * 5  # flips, but mass 0.07
    seq = idle_noise + [x for _ in range(reps) for x in (up, up, down, down)] + [up] + idle_noise
    p0, p1 = np.array(seq).T
    assert count_repetitions(p0, p1) == reps
    assert count_repetitions(p0, p1, relative=False) == 0
    assert count_repetitions(p0, p1, min_mass=0.0) == reps + 10  # without the mass gate, idle noise counts


def test_k_of_n_vote():
    assert parse_vote("3/7,3/4") == [(3, 7), (3, 4)]
    d = [1, 1, 0, 1, 0, 0, 1, 1, 1]
    assert vote(d, "3/7,3/4").tolist() == [False, False, False, True, False, False, False, False, True]
    with pytest.raises(ValueError):
        KofNVote("5/3")
    with pytest.raises(ValueError):
        parse_vote("three of seven")


def test_event_matching_f1_and_onset_delay():
    true = [("a", 10, 20), ("a", 40, 50), ("b", 60, 70)]
    pred = [("a", 12, 21), ("a", 80, 90), ("b", 61, 69), ("a", 58, 70)]  # last one: wrong label for 60-70
    m = match_events(pred, true, mode="iou", iou=0.5)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 2, 1)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert m["median_onset_delay"] == pytest.approx(1.5)
    m = match_events(pred, true, mode="onset", tolerance=1)
    assert m["tp"] == 1 and m["onset_delays"] == [1]
    assert match_events([], [])["f1"] == 1.0


def test_frame_accuracy_and_count_mae():
    assert frame_accuracy(["a", "b", "b"], ["a", "a", "b"]) == pytest.approx(2 / 3)
    assert frame_accuracy(["a", "b"], ["x", "b"], ignore="x") == 1.0
    assert count_mae([3, 5], [4, 5]) == 0.5
    with pytest.raises(ValueError):
        count_mae([1], [1, 2])


def test_rss_probe_flags_growth():
    probe = RssProbe(every=1, warmup=0.0)
    keep = []
    for i in range(12):
        # 40 MB per step, touched: above glibc's largest mmap threshold (32 MB), so always fresh pages that RSS
        # counts, whatever earlier tests freed
        keep.append(np.ones(40_000_000 // 8, np.float64))
        probe.sample(i)
    r = probe.report()
    assert r["slope_mb_per_1k_steps"] > 1000 and r["flat"] is False
    flat = RssProbe(every=1, warmup=0.0)
    for i in range(12):
        flat.sample(i)
    assert flat.report()["flat"] is True
