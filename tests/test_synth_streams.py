"""`actkit synth streams`: per-frame labels vs segments, rep counts, boxes, two people, splits, determinism, resume."""
import csv
import json

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
cv2 = pytest.importorskip("cv2")

from actkit.data.synth import stream_plan as SP  # noqa: E402
from actkit.data.vocab import VOCABULARY  # noqa: E402
from actkit.data.synth import streams as S  # noqa: E402
from actkit.data.synth.scene import SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES  # noqa: E402
from actkit.data.synth.render import HumanoidRenderer  # noqa: E402
from actkit.data.synth.sheets import read_frames  # noqa: E402

KW = dict(videos=2, seconds=(5.0, 7.0), size=64, fps=8, seed=2, progress=False)
DUO = dict(videos=1, seconds=(5.0, 6.0), size=96, fps=8, seed=4, people=(2, 2), progress=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("streams")
    one = S.render_streams(d / "one", workers=1, sheet=d / "sheet.png", **KW)
    two = S.render_streams(d / "two", workers=1, **DUO)
    return d, one, two


def _labels(root):
    return {p.name: json.loads(p.read_text()) for p in sorted(root.glob("labels/*.json"))}


def _excursions(phase):
    """Independent count: upward crossings of 0.5 each followed by a downward one."""
    n, up = 0, False
    for a, b in zip(phase[:-1], phase[1:]):
        if a <= 0.5 < b:
            up = True
        elif up and a > 0.5 >= b:
            n, up = n + 1, False
    return n


def _check_person(person, frames):
    """Segments tile the video, agree with the per-frame labels, and every exercise counts its cycles."""
    labels, segs = person["labels"], person["segments"]
    assert len(labels) == len(person["tags"]) == len(person["phase"]) == len(person["boxes"]) == frames
    assert set(labels) <= set(VOCABULARY)
    assert segs[0]["start"] == 0 and segs[-1]["end"] == frames - 1
    for a, b in zip(segs[:-1], segs[1:]):
        assert b["start"] == a["end"] + 1  # no gap, no overlap
        assert (a["kind"] == "transition") != (b["kind"] == "transition")  # segments alternate with transitions
    for seg in segs:
        assert seg["start"] <= seg["end"]
        assert set(labels[seg["start"]:seg["end"] + 1]) == {seg["label"]}
        phase = person["phase"][seg["start"]:seg["end"] + 1]
        if seg["kind"] != "exercise":
            assert all(p is None for p in phase)
            continue
        bounds = seg["rep_boundaries"]
        assert seg["count"] == len(bounds) == _excursions(phase) >= 1
        for s, e in bounds:
            assert seg["start"] <= s < e <= seg["end"]
            assert _excursions([0.0, *person["phase"][s:e + 1], 0.0]) == 1  # one cycle per rep
            tags = set(person["tags"][s:e + 1])
            assert tags == {f"{seg['label']}_high", f"{seg['label']}_low"}


def test_layout_labels_and_summary(rendered):
    d, summary, _ = rendered
    root = d / "one"
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"] for r in rows] == ["videos/stream_000.mp4", "videos/stream_001.mp4"]
    assert (root / "labels.txt").read_text().split() == list(VOCABULARY)
    labels = _labels(root)
    assert len(labels) == 2 and summary["rendered"] == 2 and summary["frames_per_s"] > 0
    for row in rows:
        lab = labels[row["labels"].rsplit("/", 1)[1]]
        assert lab["frames"] == int(row["frames"]) and lab["split"] == row["split"] and len(lab["people"]) == 1
        assert 5 * 8 <= lab["frames"] <= 7 * 8
        _check_person(lab["people"][0], lab["frames"])
        images = read_frames(root / row["path"], list(range(lab["frames"] + 5)))
        assert sorted(images) == list(range(lab["frames"]))  # the video has exactly one frame per label
        assert images[0].shape == (64, 64, 3) and images[0].std() > 5
    assert (d / "sheet.png").stat().st_size > 0


def test_boxes_inside_the_frame_and_person_in_view(rendered):
    d = rendered[0]
    for root, size in ((d / "one", 64), (d / "two", 96)):
        for lab in _labels(root).values():
            for person in lab["people"]:
                boxes = person["boxes"]
                assert sum(b is not None for b in boxes) >= 0.9 * lab["frames"]
                for x0, y0, x1, y1 in (b for b in boxes if b is not None):
                    assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size


def _iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, w) * max(0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def test_two_people_have_stable_ids_and_different_boxes(rendered):
    lab = next(iter(_labels(rendered[0] / "two").values()))
    people = lab["people"]
    assert [p["track_id"] for p in people] == [1, 2]
    a, b = (p["boxes"] for p in people)
    both = [j for j in range(lab["frames"]) if a[j] is not None and b[j] is not None]
    assert len(both) >= 0.8 * lab["frames"]
    assert sum(a[j] != b[j] for j in both) >= 0.9 * len(both)
    assert people[0]["labels"] != people[1]["labels"]  # independent timelines
    # Identity: a box overlaps its own track's previous box more than the other track's.
    checked = kept = 0
    for j in both[1:]:
        if j - 1 in both:
            for mine, other in ((a, b), (b, a)):
                checked += 1
                kept += _iou(mine[j], mine[j - 1]) >= _iou(mine[j], other[j - 1])
    assert checked and kept >= 0.9 * checked
    for person in people:
        _check_person(person, lab["frames"])


def test_plans_cover_exercises_and_keep_split_rules():
    plans = [S.plan_stream(0, i, (40.0, 60.0), 16, (1, 3)) for i in range(8)]
    assert {len(p.people) for p in plans} >= {1, 2}
    kinds = set()
    for plan in plans:
        assert plan.texture in SPLIT_TEXTURES[plan.split]
        assert all(pal in SPLIT_PALETTES[plan.split] for pal in plan.palettes)
        for k, segs in enumerate(plan.people):
            phase, tags = plan.frame_phase_and_tags(k)
            person = {"labels": plan.frame_labels(k), "tags": tags, "phase": phase, "boxes": [None] * plan.frames,
                      "segments": [s.record() for s in segs]}
            _check_person(person, plan.frames)
            for seg in segs:
                kinds.add(seg.kind)
                if seg.kind == "transition":
                    continue
                # Every segment starts seen from one of the split's camera sectors.
                rel = float(plan.camera_azimuth(seg.start)) - SP.heading(seg.source_pose(seg.start, plan.fps))
                assert SP._sector(rel) in SPLIT_SECTORS[plan.split], (plan.name, seg.label)
    assert kinds == {"mocap", "exercise", "idle", "transition"}


def test_motion_is_continuous_and_above_the_ground():
    plan = S.plan_stream(1, 0, (20.0, 20.0), 16, (1, 1))
    with HumanoidRenderer(texture_seed=0) as r:
        poses, bounds = S.person_track(r, plan, 0, SP.jitter_offsets(np.random.default_rng(0)))
    assert bounds[:, 0, 1].min() > -1e-3  # nobody sinks into the floor
    step = np.linalg.norm(np.diff(poses[:, :3], axis=0), axis=1)
    assert step.max() < 0.4  # 6.4 m/s at 16 fps: faster than the run clip, no teleport
    starts = np.array([s.start for s in plan.people[0] if s.start > 0])
    assert len(starts) >= 3
    # Across segment boundaries the body moves no more than within segments (blends, not jumps).
    assert step[starts - 1].max() <= np.delete(step, starts - 1).max()


def test_same_output_whatever_the_workers_and_resume(rendered, tmp_path):
    d = rendered[0]
    S.render_streams(tmp_path / "b", workers=2, **KW)
    one, two = _labels(d / "one"), _labels(tmp_path / "b")
    assert one == two
    for name in one:
        video = f"videos/{name[:-5]}.mp4"
        a, b = read_frames(d / "one" / video, [0, 20]), read_frames(tmp_path / "b" / video, [0, 20])
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[20], b[20])

    root = tmp_path / "b"
    videos = sorted(root.glob("videos/*.mp4"))
    mtimes = [v.stat().st_mtime_ns for v in videos]
    again = S.render_streams(root, workers=1, **KW)
    assert again["rendered"] == 0 and again["skipped"] == 2
    assert [v.stat().st_mtime_ns for v in videos] == mtimes
    videos[1].unlink()
    again = S.render_streams(root, workers=1, **KW)
    assert again["rendered"] == 1 and videos[1].is_file() and videos[0].stat().st_mtime_ns == mtimes[0]
    assert not list(root.rglob(".stream_*"))  # no temporary files left behind
    with pytest.raises(ValueError, match="other arguments"):
        S.render_streams(root, workers=1, **{**KW, "fps": 10})


@pytest.mark.parametrize("kwargs, name", [(dict(seconds=(0.0, 5.0)), "seconds"), (dict(seconds=(6.0, 5.0)), "seconds"),
                                          (dict(people=(0, 2)), "people"), (dict(people=(3, 2)), "people"),
                                          (dict(people=(1, 9)), "people"), (dict(size=63), "size"),
                                          (dict(fps=4), "fps"), (dict(videos=0), "videos")])
def test_bad_arguments(kwargs, name, tmp_path):
    with pytest.raises(ValueError, match=f"bad {name}"):
        S.render_streams(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()  # refused before anything is written


# ----------------------------------------------------------------------------- actions: held-out timeline split

def test_actions_timeline_split_holds_out_part_of_each_motion():
    from actkit.data.synth import actions as A

    frames, fps = 8, 16
    for name in ("kick", "spin", "getup_faceup", "backflip", "walk"):
        plans = [A.plan_clip(0, name, k, 40, frames, fps, split_by="timeline") for k in range(40)]
        ranges = {s: [(p.start, p.start + p.speed * (frames - 1) / fps) for p in plans if p.split == s]
                  for s in A.SPLITS}
        assert all(ranges.values()), name
        for p in plans:  # the appearance rules still hold
            assert p.sector in A.SPLIT_SECTORS[p.split] and p.palette in A.SPLIT_PALETTES[p.split]
        if name == "walk":  # loops: only the start phase is held out
            d = A.load_clip(name).duration
            for s, (lo, hi) in A.TIMELINE_PARTS.items():
                assert all(lo * d - 1e-9 <= a < hi * d for a, _ in ranges[s])
            continue
        t0, t1 = A.active_part(name)
        train_end = max(b for _, b in ranges["train"])
        test_start = min(a for a, _ in ranges["test"])
        shared = max(0.0, train_end - test_start)
        assert shared <= A.timeline_overlap(name, frames, fps) + 1e-3, name  # never more than documented
        assert min(a for a, _ in ranges["train"]) >= t0 - 1e-9 and max(b for _, b in ranges["test"]) <= t1 + 1e-9
        length = t1 - t0
        assert all(t0 + 0.6 * length - 1e-9 <= (a + b) / 2 <= t0 + 0.8 * length + 1e-9 for a, b in ranges["val"])
        if A.timeline_overlap(name, frames, fps) == 0:  # documented disjoint: truly disjoint
            assert train_end < test_start, name


def test_actions_default_split_is_unchanged_and_timeline_is_recorded(tmp_path):
    from actkit.data.synth import actions as A

    for name in ("kick", "walk"):
        for k in range(4):
            assert A.plan_clip(3, name, k, 4, 16, 16) == A.plan_clip(3, name, k, 4, 16, 16, split_by="appearance")
    kw = dict(clips_per_class=2, frames=8, size=32, fps=16, seed=1, workers=1, progress=False, classes=("punch",))
    s = A.render_actions(tmp_path / "t", split_by="timeline", **kw)
    assert json.loads((tmp_path / "t" / "render_config.json").read_text())["split_by"] == "timeline"
    assert s["timeline_overlap_s"] == {"Punch": 0.0}
    with open(tmp_path / "t" / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[-2:] == ["clip_start", "clip_end"] and len(rows) == 2
    with pytest.raises(ValueError, match="other arguments"):
        A.render_actions(tmp_path / "t", **kw)  # the appearance split into a timeline folder
    with pytest.raises(ValueError, match="split_by"):
        A.render_actions(tmp_path / "u", split_by="random", **kw)
    # A folder rendered before split_by existed (no key in its config) resumes as the appearance split.
    A.render_actions(tmp_path / "old", **kw)
    cfg = json.loads((tmp_path / "old" / "render_config.json").read_text())
    del cfg["split_by"]
    (tmp_path / "old" / "render_config.json").write_text(json.dumps(cfg))
    assert A.render_actions(tmp_path / "old", **kw)["rendered"] == 0


def test_render_people_boxes_follow_occlusion():
    from actkit.data.synth.mocap import Pose
    from actkit.data.synth.render import Camera

    with HumanoidRenderer(texture_seed=0) as r:
        bodies = r.ensure_people(2)
        assert len(bodies) == 2 and r.ensure_people(2) == bodies  # loaded once, then reused
        r.set_camera(Camera(target=(0.0, 0.9, 0.0), distance=4.0, azimuth=0.0, elevation=0.0))
        r.set_pose(Pose.neutral(0.9), bodies[0])
        r.set_pose(Pose.neutral(0.9).transformed(offset=(0.0, 0.0, 1.0)), bodies[1])  # beside, in view
        _, (a, b) = r.render_people(64, 64, bodies)
        assert a is not None and b is not None and a != b
        r.set_pose(Pose.neutral(0.9).transformed(offset=(-1.0, 0.0, 0.0)), bodies[1])  # right behind the first
        rgb, (a2, b2) = r.render_people(64, 64, bodies)
        assert a2 == a and (b2 is None or (b2[2] - b2[0]) * (b2[3] - b2[1]) < (b[2] - b[0]) * (b[3] - b[1]))
        r.park_people(1)
        single, box = r.render(64, 64)
        assert box == a and np.array_equal(single, r.render_people(64, 64, bodies[:1])[0])


def test_cli_streams_and_actions_timeline(tmp_path, capsys):
    from actkit.cli import main

    assert main(["-q", "synth", "streams", "--out", str(tmp_path / "s"), "--videos", "1", "--seconds", "2", "2",
                 "--size", "32", "--fps", "8", "--workers", "1"]) == 0
    assert (tmp_path / "s" / "videos" / "stream_000.mp4").is_file()
    assert json.loads((tmp_path / "s" / "labels" / "stream_000.json").read_text())["frames"] == 16
    assert main(["-q", "synth", "streams", "--out", str(tmp_path / "x"), "--people", "2", "1"]) == 2
    assert "bad people" in capsys.readouterr().err
    assert main(["-q", "synth", "actions", "--out", str(tmp_path / "a"), "--classes", "kick", "--clips-per-class", "1",
                 "--frames", "4", "--size", "16", "--workers", "1", "--split-by", "timeline"]) == 0
    assert json.loads((tmp_path / "a" / "render_config.json").read_text())["split_by"] == "timeline"
