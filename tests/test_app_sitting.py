"""`actkit app sitting`: seconds per posture per tracked person, the k-of-n vote, one alert per long spell, on
made-up labels and on the real plaza video."""
import json

import numpy as np
import pytest

from actkit.apps.sitting import SittingApp
from actkit.cli import main
from actkit.results import Results

NAMES = ["lying", "sitting", "standing"]


def _frame(labels):
    """Results of one frame: track id -> the posture model's label for it."""
    probs = {"lying": [0.8, 0.1, 0.1], "sitting": [0.1, 0.8, 0.1], "standing": [0.1, 0.1, 0.8]}
    tracks = [Results(np.array(probs[lab], np.float32), NAMES, track_id=tid, box=(0, 0, 10, 20), keypoints={"xy": []})
              for tid, lab in labels.items()]
    return Results(np.array([0.5, 0.5], np.float32), ["none", "person"], tracks=tracks)


def test_seconds_vote_and_one_alert_per_spell():
    app = SittingApp(vote="3/4", alert_minutes=1 / 60)  # an alert after 1 s of sitting
    story = ["standing"] * 4 + ["sitting"] * 20 + ["standing"] * 6
    story[10] = "standing"  # one misread frame inside the spell: the vote keeps the person sitting
    alerts = []
    for lab in story:
        r = app.update(_frame({7: lab, 8: "lying"}), 0.1)
        alerts.append(r.tracks[0].app["alert"])
    s = app.summary()
    # the vote needs 3 of the last 4 frames sitting: on from the spell's 3rd frame (6) to 1 frame after it (24)
    assert s["per_person"][7]["sitting"] == pytest.approx(1.9, abs=1e-6)
    assert s["per_person"][7]["standing"] == pytest.approx(1.1, abs=1e-6)
    assert s["per_person"][8] == {"standing": 0.0, "sitting": 0.0, "lying": 3.0, "alerts": 0}
    assert sum(alerts) == 1 and s["alerts"] == 1
    with pytest.raises(ValueError, match="alert_minutes"):
        SittingApp(alert_minutes=0)
    with pytest.raises(ValueError):
        SittingApp(vote="9/4")


def test_sitting_app_on_the_real_plaza(tmp_path):
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    out = tmp_path / "sit.jsonl"
    assert main(["app", "sitting", "--source", str(sample_path("vtest.avi")), "--max-frames", "20", "--jsonl", str(out),
                 "--annotate", str(tmp_path / "sit.mp4")]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == 20 and summary["frames"] == 20 and summary["fps"] == 10.0
    person_frames = sum("app" in t for f in frames for t in f.get("tracks", []))
    assert person_frames > 20  # several people on most frames
    assert sum(summary["seconds"].values()) == pytest.approx(person_frames / summary["fps"], abs=0.05)
    assert summary["seconds"]["standing"] > 0.8 * sum(summary["seconds"].values())  # people walk and stand here
    assert (tmp_path / "sit.mp4").stat().st_size > 0


def test_sitting_seconds_against_per_frame_truth_on_multi_person_streams(tmp_path, capsys):
    """`actkit synth skeletons --set sitting`: people sitting down, standing up and lying down, each with their
    posture on every frame; the app (shipped posture model, the vote, the time keeping) counts each person's
    seconds sitting within a few percent of the truth."""
    pytest.importorskip("pybullet_data")
    import json

    from actkit.cli import main

    out = tmp_path / "sitting"
    assert main(["synth", "skeletons", "--set", "sitting", "--videos", "2", "--seconds", "40", "50", "--seed", "3",
                 "--out", str(out)]) == 0
    record = json.loads((out / "labels" / "stream_000.json").read_text())
    assert 2 <= len(record["people"]) <= 3 and all(len(p["postures"]) == record["frames"] for p in record["people"])
    assert all("sitting" in p["postures"] for p in record["people"])  # everyone sits at least once
    capsys.readouterr()
    # the same folder with other arguments is refused with one line naming it
    assert main(["synth", "skeletons", "--set", "sitting", "--videos", "3", "--out", str(out)]) == 2
    assert "other arguments" in capsys.readouterr().err
    assert main(["app", "sitting", "--evaluate", str(out), "--split", "all"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["people"] >= 4 and report["frames_right"] > 0.9
    assert report["sitting_error_mean"] < 0.05
    for row in report["per_person"]:
        assert sum(row["counted_s"].values()) == pytest.approx(sum(row["true_s"].values()), rel=0.03)


def test_a_lost_frame_keeps_the_posture_for_a_moment():
    """A tracked person whose body is missed on a few frames keeps sitting (no break) for up to hold_s."""
    app = SittingApp(vote="1/1", hold_s=0.5)
    unseen = Results(np.array([0.5, 0.5], np.float32), ["none", "person"], tracks=[
        Results(np.array([0.5, 0.5], np.float32), ["none", "person"], track_id=1, box=(0, 0, 10, 20))])
    for i in range(20):
        lost = 5 <= i < 9 or i >= 12  # 4 frames (0.4 s) lost, then lost for good
        app.update(unseen if lost else _frame({1: "sitting"}), 0.1)
    s = app.summary()["per_person"][1]
    # 5 frames seen, the 0.4 s gap held, 3 seen, then 0.5 s held after the last sight: 17 frames
    assert s["sitting"] == pytest.approx(1.7, abs=1e-6)
    with pytest.raises(ValueError, match="hold_s"):
        SittingApp(hold_s=-1)
