"""`actkit synth reps`: rep-count ground truth, tags, geometry of high/low, decodable videos, determinism, resume."""
import csv
import json

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
cv2 = pytest.importorskip("cv2")

from actkit.data.synth import reps as R  # noqa: E402
from actkit.data.synth.scene import LINK  # noqa: E402
from actkit.data.synth.render import HumanoidRenderer  # noqa: E402

EXERCISES = ("squat", "jumping_jack", "lunge", "arm_raise")
KW = dict(videos_per_exercise=2, seconds=(2.0, 3.5), size=64, fps=8, seed=3, progress=False, exercises=EXERCISES)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("reps")
    summary = R.render_reps(d / "a", workers=1, sheet=d / "sheet.png", **KW)
    return d, summary


def _labels(root):
    return {p.relative_to(root).as_posix(): json.loads(p.read_text()) for p in sorted(root.glob("labels/*/*.json"))}


def _manifest(root):
    with open(root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _excursions(phase):
    """Independent count: upward crossings of 0.5 each followed by a downward one."""
    n, up = 0, False
    for a, b in zip(phase[:-1], phase[1:]):
        if a <= 0.5 < b:
            up = True
        elif up and a > 0.5 >= b:
            n, up = n + 1, False
    return n


def test_layout_manifest_and_summary(rendered):
    d, summary = rendered
    root = d / "a"
    rows = _manifest(root)
    assert len(rows) == 8 and summary["videos"] == 8 and summary["rendered"] == 8
    assert list(rows[0]) == ["path", "label", "count", "split", "frames", "fps"]
    for row in rows:
        ex = row["label"]
        assert ex in EXERCISES and row["path"].startswith(f"videos/{ex}/{ex}_")
        assert (root / row["path"]).is_file()
        stem = row["path"].rsplit("/", 1)[1][:-4]
        lab = json.loads((root / "labels" / ex / f"{stem}.json").read_text())
        assert lab["count"] == int(row["count"]) and lab["frames"] == int(row["frames"]) and lab["fps"] == 8
        assert lab["split"] == row["split"]
    assert json.loads((root / "summary.json").read_text())["videos"] == 8
    assert (d / "sheet.png").stat().st_size > 0


def test_count_matches_phase_boundaries_and_tags(rendered):
    d, _ = rendered
    labels = _labels(d / "a")
    assert len(labels) == 8
    for name, lab in labels.items():
        phase, tags, bounds = lab["phase"], lab["tags"], lab["rep_boundaries"]
        n = lab["frames"]
        assert len(phase) == len(tags) == len(lab["boxes"]) == n
        assert all(0.0 <= p <= 1.0 for p in phase)
        assert lab["count"] >= 1, name
        assert lab["count"] == _excursions(phase) == len(bounds), name
        inside = np.zeros(n, bool)
        for s, e in bounds:
            assert 0 <= s < e < n
            assert not inside[s:e + 1].any()  # reps do not overlap
            inside[s:e + 1] = True
            # Each rep shows exactly one low excursion and starts and ends near the high position.
            assert _excursions([0.0, *phase[s:e + 1], 0.0]) == 1
            assert phase[s] < 0.5 and phase[e] < 0.5
        ex = lab["exercise"]
        for j in range(n):
            if not inside[j]:
                assert tags[j] == "idle" and phase[j] == 0.0
            else:
                assert tags[j] == (f"{ex}_low" if phase[j] > 0.5 else f"{ex}_high")
        assert f"{ex}_low" in tags and f"{ex}_high" in tags and "idle" in tags
        assert sum(b is not None for b in lab["boxes"]) >= 0.9 * n  # the person is in view


def test_splits_use_held_out_sectors_and_palettes():
    from actkit.data.synth.scene import SPLIT_PALETTES, SPLIT_SECTORS

    plans = [R.plan_video(0, e, k, 40, (6, 12), 16) for e in EXERCISES for k in range(40)]
    assert {p.split for p in plans} == {"train", "val", "test"}
    for p in plans:
        assert p.sector in SPLIT_SECTORS[p.split] and p.palette in SPLIT_PALETTES[p.split]
        assert 6 * 16 - 1 <= p.frames <= 12 * 16 + 1
        assert p.count == _excursions(p.phase) >= 1
    counts = [p.count for p in plans]
    assert min(counts) <= 4 and max(counts) >= 7  # a real spread of rep counts


def test_low_frames_are_geometrically_low():
    """Squat: pelvis lower at low tags; arm raise and jumping jack: wrists above the head at low tags."""
    with HumanoidRenderer(texture_seed=0) as r:
        for ex in ("squat", "lunge", "arm_raise", "jumping_jack"):
            plan = R.plan_video(1, ex, 0, 1, (2.0, 3.0), 8)
            tags = plan.tags()
            _, _, poses = R.render_video(r, plan, 1, 32, 8, return_poses=True)
            pelvis, hands, head = [], [], []
            for pose in poses:
                r.set_pose(pose)
                f = r.link_frames()
                pelvis.append(f[LINK["root"], 1])
                hands.append(min(f[LINK["right_elbow"], 1], f[LINK["left_elbow"], 1]))
                head.append(f[LINK["neck"], 1])
                assert r.lowest_point() > -1e-3  # never below the floor
            pelvis, hands, head = map(np.array, (pelvis, hands, head))
            low = np.array([t.endswith("_low") for t in tags])
            high = np.array([t.endswith("_high") or t == "idle" for t in tags])
            assert low.any() and high.any()
            if ex in ("squat", "lunge"):
                assert pelvis[low].max() < pelvis[high].max() - 0.1, ex
                assert pelvis[low].mean() < pelvis[high].mean(), ex
            else:  # elbows above the neck at the low key position, below it at rest
                assert (hands[low] > head[low]).all(), ex
                assert (hands[np.array(plan.phase) == 0.0] < head[np.array(plan.phase) == 0.0]).all(), ex


def test_videos_decode_to_frame_count(rendered):
    from actkit.data.video.sources import read_video

    d, _ = rendered
    root = d / "a"
    for row in _manifest(root):
        images = read_video(root / row["path"])
        assert len(images) == int(row["frames"])
        assert images[0].shape == (64, 64, 3)
        assert images[0].std() > 5  # not a blank frame


def test_deterministic_across_workers_and_resume(rendered, tmp_path):
    from actkit.data.video.sources import read_video

    d, _ = rendered
    kw = {**KW, "exercises": ("squat", "arm_raise")}  # same indices: a subset of exercises
    s2 = R.render_reps(tmp_path / "b", workers=2, **kw)
    assert s2["rendered"] == 4
    one, two = _labels(d / "a"), _labels(tmp_path / "b")
    assert set(two) <= set(one)
    for name in two:
        assert one[name] == two[name], name
        video = name.replace("labels/", "videos/").replace(".json", ".mp4")
        a, b = read_video(d / "a" / video), read_video(tmp_path / "b" / video)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[-1], b[-1])

    # Resume: a complete re-run renders nothing and leaves the files alone; a missing video is redone.
    root = tmp_path / "b"
    videos = sorted(root.glob("videos/*/*.mp4"))
    mtimes = [v.stat().st_mtime_ns for v in videos]
    again = R.render_reps(root, workers=1, **kw)
    assert again["rendered"] == 0 and again["skipped"] == 4
    assert [v.stat().st_mtime_ns for v in videos] == mtimes
    videos[0].unlink()
    again = R.render_reps(root, workers=1, **kw)
    assert again["rendered"] == 1 and videos[0].is_file()
    assert [v.stat().st_mtime_ns for v in videos[1:]] == mtimes[1:]
    with pytest.raises(ValueError, match="other arguments"):
        R.render_reps(root, workers=1, **{**kw, "fps": 10})


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown exercises"):
        R.render_reps("/nonexistent/never", exercises=("burpee",))
