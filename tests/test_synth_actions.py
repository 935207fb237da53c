"""`actkit synth actions`: UCF-101 layout, honest splits, decodable videos, boxes, determinism, resume."""
import csv
import dataclasses
import json
import re
import shutil

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
cv2 = pytest.importorskip("cv2")

from actkit.data.synth import actions as A  # noqa: E402
from actkit.data.synth.render import HumanoidRenderer  # noqa: E402
from actkit.data.video.sources import read_video  # noqa: E402

CLASSES = ("backflip", "kick", "walk")  # their groups land in train, val and test
KW = dict(clips_per_class=4, frames=16, size=64, fps=16, seed=5, progress=False, classes=CLASSES)
NAME = re.compile(r"^(\w+)/v_(\w+)_g(\d\d)_c(\d\d)\.mp4$")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("actions")
    summary = A.render_actions(d / "a", workers=1, sheet=d / "sheet.png", **KW)
    return d, summary


def _lines(path):
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _manifest(root):
    with open(root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_ucf101_lists_parse_and_groups_never_straddle_splits(rendered):
    d, summary = rendered
    root = d / "a"
    classes = {name: int(i) for i, name in _lines(root / "classInd.txt")}
    assert classes == {"Backflip": 1, "Kick": 2, "Walk": 3}
    groups = {}
    seen = []
    for split, fname in (("train", "trainlist01.txt"), ("val", "vallist01.txt"), ("test", "testlist01.txt")):
        for parts in _lines(root / fname):
            m = NAME.match(parts[0])
            assert m, parts
            cls, cls2, g, _ = m.groups()
            assert cls == cls2 and cls in classes
            if split == "test":
                assert len(parts) == 1
            else:
                assert len(parts) == 2 and int(parts[1]) == classes[cls]
            assert groups.setdefault((cls, g), split) == split, f"group {cls} g{g} in two splits"
            assert (root / "videos" / parts[0]).is_file()
            seen.append(parts[0])
    assert len(seen) == len(set(seen)) == 3 * 4 == summary["videos"]
    assert set(groups.values()) == {"train", "val", "test"}
    rows = _manifest(root)
    assert tuple(rows[0]) == A.MANIFEST_COLUMNS
    assert sorted(r["path"] for r in rows) == sorted(f"videos/{p}" for p in seen)
    for r in rows:
        assert r["label"] == r["path"].split("/")[1]
        assert r["group"] == f"{r['label']}_g{NAME.match(r['path'][7:]).group(3)}"
        assert int(r["camera_sector"]) in A.SPLIT_SECTORS[r["split"]]
        assert int(r["palette"]) in A.SPLIT_PALETTES[r["split"]]
        assert any(lo <= float(r["speed"]) <= hi for lo, hi in A.SPLIT_SPEEDS[r["split"]]) \
            or (r["label"] in {"Backflip", "Kick"} and float(r["speed"]) <= A.MAX_EVENT_SPEED)
    assert summary["codec"] in ("h264-pyav", "avc1", "mp4v")
    assert summary["frames_per_s"] > 0 and summary["rendered"] == 12 and summary["skipped"] == 0
    assert json.loads((root / "summary.json").read_text())["videos"] == 12


def test_split_tables_are_disjoint():
    for table in (A.SPLIT_SECTORS, A.SPLIT_PALETTES, A.SPLIT_TEXTURES):
        a, b, c = (set(table[s]) for s in A.SPLITS)
        assert not (a & b or a & c or b & c)
    train = A.SPLIT_SPEEDS["train"][0]
    for lo, hi in A.SPLIT_SPEEDS["test"]:
        assert hi <= train[0] or lo >= train[1]


def test_videos_decode_with_opencv_and_have_boxes(rendered):
    root = rendered[0] / "a"
    for r in _manifest(root):
        images = read_video(root / r["path"])
        assert len(images) == int(r["frames"]) == 16
        assert images[0].shape == (64, 64, 3)
        assert float(np.std(images[0])) > 5  # not a blank frame
        cls, stem = r["path"].split("/")[1], r["path"].rsplit("/", 1)[1][:-4]
        boxes = json.loads((root / "boxes" / cls / f"{stem}.json").read_text())["frames"]
        assert len(boxes) == 16
        visible = [b for b in boxes if b is not None]
        assert len(visible) >= 14
        for x0, y0, x1, y1 in visible:
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
            assert max(x1 - x0, y1 - y0) >= 8  # the person is not a speck


def test_contact_sheet(rendered):
    from PIL import Image

    d, summary = rendered
    img = Image.open(d / "sheet.png")
    assert summary["sheet"] == str(d / "sheet.png")
    assert img.height == 3 * 112 and img.width > 6 * 112


def test_same_seed_same_videos_whatever_the_workers(rendered, tmp_path):
    root = rendered[0] / "a"
    A.render_actions(tmp_path / "b", workers=2, **KW)
    assert _manifest(tmp_path / "b") == _manifest(root)
    for r in _manifest(root):
        one, two = read_video(root / r["path"]), read_video(tmp_path / "b" / r["path"])
        np.testing.assert_array_equal(one[0], two[0])
        if rendered[1]["codec"] == "mp4v":  # deterministic encoder: identical bytes
            assert (root / r["path"]).read_bytes() == (tmp_path / "b" / r["path"]).read_bytes()
    other = A.render_actions(tmp_path / "c", workers=1, **{**KW, "seed": 6, "classes": ("kick",)})
    assert other["videos"] == 4
    first = _manifest(root)[4]["path"]
    assert first.startswith("videos/Kick/")
    assert not np.array_equal(read_video(root / first)[0], read_video(tmp_path / "c" / first)[0])


def test_resume_renders_only_the_missing_video(rendered, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(rendered[0] / "a", root)
    videos = sorted((root / "videos").rglob("*.mp4"))
    victim = videos[3]
    original = victim.read_bytes()
    victim.unlink()
    stale = victim.parent / f".{victim.stem}.abc123.mp4"  # a temporary file left by a killed run
    stale.write_bytes(original[:100])
    before = {p: p.stat().st_mtime_ns for p in videos if p != victim}
    summary = A.render_actions(root, workers=1, **KW)
    assert summary["rendered"] == 1 and summary["skipped"] == 11
    assert victim.is_file()
    assert {p: p.stat().st_mtime_ns for p in before} == before
    again = read_video(victim)[0]
    np.testing.assert_array_equal(again, read_video(rendered[0] / "a" / victim.relative_to(root))[0])
    if summary["codec"] == "mp4v":
        assert victim.read_bytes() == original
    assert not list(root.rglob(".v_*"))  # no temporary files left behind
    with pytest.raises(ValueError, match="other arguments"):
        A.render_actions(root, workers=1, **{**KW, "frames": 8})


def test_mirrored_clip_keeps_its_class_and_differs_in_pixels(rendered):
    rows = _manifest(rendered[0] / "a")
    assert {r["mirror"] for r in rows} == {"0", "1"}
    for r in rows:
        assert r["path"].split("/")[1] == r["label"]
    plan = A.plan_clip(5, "kick", 0, 4, 16, 16)
    mirrored = dataclasses.replace(plan, mirror=not plan.mirror)
    assert mirrored.cls == plan.cls == "Kick"
    with HumanoidRenderer(texture_seed=5, num_textures=12) as r:
        a, _ = A.render_clip(r, plan, 5, 16, 64, 16)
        b, _ = A.render_clip(r, mirrored, 5, 16, 64, 16)
        a2, _ = A.render_clip(r, plan, 5, 16, 64, 16)
    np.testing.assert_array_equal(np.stack(a), np.stack(a2))  # renderer state does not leak
    assert np.abs(np.stack(a).astype(int) - np.stack(b)).mean() > 1


def test_one_shot_windows_contain_the_action():
    rng = np.random.default_rng(0)
    for name in ("kick", "punch", "backflip", "jump"):
        clip = A.load_clip(name)
        t0, t1 = A.active_part(name)
        for _ in range(20):
            start, speed = A.choose_window(rng, clip, 16, 16, 1.0)
            end = start + speed * 15 / 16
            assert start <= t0 + 1e-9 and end >= t1 - 1e-9, (name, start, end, t0, t1)
    walk = A.load_clip("walk")
    starts = {A.choose_window(rng, walk, 16, 16, 1.0)[0] for _ in range(5)}
    assert len(starts) == 5 and all(0 <= s < walk.duration for s in starts)
