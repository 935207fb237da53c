"""`actkit app fitness`: the calorie arithmetic against hand-computed values, the movement counters against the
true counts of generated keypoint exercise videos, and the app on a real video."""
import json
import math

import numpy as np
import pytest

from actkit.apps.calories import MET, MET_SOURCES, CalorieMeter, Profile
from actkit.cli import main


def test_resting_rate_and_corrected_met_by_hand():
    p = Profile(70, 175, 35, "male")
    assert p.resting_kcal_per_day() == pytest.approx(700 + 1093.75 - 175 + 5)
    rmr_ml = 1623.75 * 1000 / (1440 * 5 * 70)
    assert p.corrected_met(3.5) == pytest.approx(3.5 * 3.5 / rmr_ml)
    assert Profile(60, 165, 50, "female").resting_kcal_per_day() == pytest.approx(600 + 1031.25 - 250 - 161)
    with pytest.raises(ValueError, match="sex"):
        Profile(sex="robot")
    with pytest.raises(ValueError, match="implausible"):
        Profile(weight_kg=2)
    assert all(code.isdigit() and len(code) == 5 and met == MET[k] for k, (code, _, met) in MET_SOURCES.items())


def test_calorie_meter_constant_then_falling():
    p = Profile(80, 180, 40, "other")
    meter = CalorieMeter(p)
    for _ in range(1200):  # 10 minutes of jumping jacks at 2 steps a second
        kcal = meter.update(MET["jumping_jack"], 0.5)
    assert kcal == pytest.approx(80 * (600 / 3600) * p.corrected_met(8.0), rel=1e-9)  # within 1 % asked; exact here
    shown = [meter.shown]
    for _ in range(10):  # then standing: the shown MET falls no faster than exp(-dt / 60) per step...
        meter.update(MET["idle"], 0.5)
        shown.append(meter.shown)
    assert all(b >= a * math.exp(-0.5 / 60) - 1e-9 for a, b in zip(shown, shown[1:]))
    for _ in range(600):  # ...and settles on the new activity
        meter.update(MET["idle"], 0.5)
    assert meter.shown == pytest.approx(MET["idle"], abs=0.01)


def test_fitness_counts_the_true_repetitions_of_generated_exercises(tmp_path):
    pytest.importorskip("pybullet")
    from actkit.apps.fitness import evaluate_reps
    from actkit.data.synth.skeleton_sets import render_skeleton_reps

    render_skeleton_reps(tmp_path / "reps", videos_per_exercise=2, seconds=(6, 9), fps=16, seed=3, progress=False)
    report = evaluate_reps(str(tmp_path / "reps"), "all")
    assert report["videos"] == 8
    assert report["rep_mae"] <= 0.5, report["per_video"]
    # Every set named right (jumping jacks by the feet swinging apart, the legs by the model), and the exercise
    # on most of the frames: all but the warm-up before the first repetition.
    assert report["sets_named"] == 1.0 and report["exercise_named_share"] >= 0.7, report["per_video"]


def test_fitness_app_on_a_real_video(tmp_path):
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    out = tmp_path / "fit.jsonl"
    assert main(["app", "fitness", "--source", str(sample_path("vtest.avi")), "--max-frames", "12", "--weight", "80",
                 "--sex", "male", "--jsonl", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == 12 and all("activity" in f["app"] for f in frames)
    assert 0 < summary["kcal"] < 1  # 1.2 s of anything costs well under a kcal
    assert main(["app", "fitness"]) == 2  # neither --source nor --evaluate: one clear error


def test_joint_angle_counter_counts_push_ups():
    from actkit.apps.fitness import FitnessApp, joint_angle, parse_angle_counter

    app = FitnessApp(angles=("elbow:90:150",))
    kp = np.full((33, 4), np.nan, np.float32)

    def arms(angle):
        k = np.zeros((33, 4), np.float32)
        k[:, 3] = 1.0
        k[:, :2] = [320, 240]
        k[[11, 12, 23, 24], :2] = [[300, 200], [340, 200], [305, 300], [335, 300]]
        a = np.radians(angle)
        for shoulder, elbow, wrist, side in ((11, 13, 15, -1), (12, 14, 16, 1)):
            k[elbow, :2] = k[shoulder, :2] + [side * 50, 0]
            k[wrist, :2] = k[elbow, :2] + 40 * np.array([-side * np.cos(a), np.sin(a)])
        return k

    assert joint_angle(arms(90), "elbow") == pytest.approx(90, abs=1e-3)
    assert joint_angle(kp, "elbow") is None
    pushes = 0
    for rep in range(5):
        for angle in list(range(170, 70, -10)) + list(range(70, 171, 10)):
            pushes += sum(e.get("family") == "elbow" for e in app.step(arms(angle), 1 / 16)["events"])
    assert pushes == 5 and app.summary()["sets"][0]["reps"] == 5
    with pytest.raises(ValueError, match="JOINT:LOW:HIGH"):
        parse_angle_counter("elbow")
    with pytest.raises(ValueError, match="joint one of"):
        parse_angle_counter("tail:10:20")
