"""`actkit synth dives`: somersaults, twists and positions checked on the rendered bodies, Diving48 files,
determinism, resume, refusals."""
import csv
import json

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
pytest.importorskip("cv2")

from actkit.data.dives import DIVING48_LABELS, DIVING48_VOCAB, format_dive_number  # noqa: E402
from actkit.data.synth import dives as S  # noqa: E402
from actkit.data.synth.dive_plan import MAX_STEP_DEG  # noqa: E402
from actkit.data.synth.mocap import quat_rotate  # noqa: E402
from actkit.data.synth.scene import LINK  # noqa: E402
from actkit.data.synth.render import HumanoidRenderer  # noqa: E402

# Back 1.5 tuck, forward dive pike, reverse 1.5 with 1.5 twists free, forward dive straight.
CLASSES = [4, 29, 38]
KW = dict(videos_per_class=1, frames=(26, 30), size=64, fps=25, seed=5, progress=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("dives")
    summary = S.render_dives(d / "a", workers=1, classes=CLASSES, sheet=d / "sheet.png", **KW)
    return d, summary


def _angles(poses, axis):
    """Independent read-out of the root rotation: unwrapped angle (degrees) of the body's long axis in
    the x-y plane (somersault), or of its lateral axis about the long axis (twist)."""
    up = np.array([quat_rotate(p.root_orn, np.array([0.0, 1.0, 0.0])) for p in poses])
    if axis == "somersault":
        a = np.arctan2(-up[:, 0], up[:, 1])
    else:
        side = np.array([quat_rotate(p.root_orn, np.array([0.0, 0.0, 1.0])) for p in poses])
        z = np.array([0.0, 0.0, 1.0])
        a = np.arctan2(np.einsum("ij,ij->i", np.cross(z, side), up), side @ z)
    return np.degrees(np.unwrap(a))


def _flexion(frames):
    """Hip flexion (trunk vs thigh) and knee flexion (thigh vs shin) in degrees from joint positions."""
    def ang(a, b):
        return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))

    trunk = frames[LINK["neck"]] - frames[LINK["root"]]
    thigh = frames[LINK["right_knee"]] - frames[LINK["right_hip"]]
    shin = frames[LINK["right_ankle"]] - frames[LINK["right_knee"]]
    return 180 - ang(trunk, thigh), ang(thigh, shin)


def test_diving48_files_are_consistent(rendered):
    d, summary = rendered
    root = d / "a"
    assert summary["videos"] == summary["rendered"] == 3
    assert json.loads((root / "Diving48_vocab.json").read_text()) == [list(r) for r in DIVING48_VOCAB]
    seen = {}
    for split in ("train", "val", "test"):
        for row in json.loads((root / f"Diving48_{split}.json").read_text()):
            assert set(row) == {"vid_name", "label", "start_frame", "end_frame"}
            assert row["vid_name"] not in seen
            seen[row["vid_name"]] = (split, row)
    assert len(seen) == 3
    with open(root / "manifest.csv", newline="") as f:
        manifest = {r["vid_name"]: r for r in csv.DictReader(f)}
    assert set(manifest) == set(seen)
    from actkit.data.video.sources import read_video

    for name, (split, row) in seen.items():
        lab = json.loads((root / "labels" / f"{name}.json").read_text())
        assert lab["label"] == row["label"] == int(manifest[name]["label"]) and row["label"] in CLASSES
        assert lab["vocab"] == list(DIVING48_VOCAB[row["label"]])
        assert lab["dive_number"] == manifest[name]["dive_number"] == format_dive_number(DIVING48_LABELS[row["label"]])
        assert lab["split"] == split == manifest[name]["split"]
        assert row["start_frame"] == 0 and row["end_frame"] == lab["frames"] == int(manifest[name]["frames"])
        assert 26 <= lab["frames"] <= 30
        n = lab["frames"]
        assert all(len(lab[k]) == n for k in ("somersault_deg", "twist_deg", "hip_deg", "knee_deg", "stage", "root_quat"))
        assert lab["stage"][0] == "takeoff" and lab["stage"][-1] == "entry" and "flight" in lab["stage"]
        boxes = json.loads((root / "boxes" / f"{name}.json").read_text())["frames"]
        assert len(boxes) == n and sum(b is not None for b in boxes) >= n - 2  # the camera follows the diver
        images = read_video(root / "rgb" / f"{name}.mp4")
        assert len(images) == n and images[0].shape == (64, 64, 3) and images[0].std() > 5
    assert (d / "sheet.png").stat().st_size > 0


def test_plans_reach_the_labelled_totals_for_all_classes():
    for c, lab in enumerate(DIVING48_LABELS):
        plan = S.plan_dive(0, c, 0, 1, (32, 32), 25)
        assert plan.somersault_deg[-1] == pytest.approx(360 * lab.somersaults)
        assert plan.twist_deg[-1] == pytest.approx(360 * lab.twists)
        assert np.all(np.diff(plan.somersault_deg) >= -1e-6)
        assert np.abs(np.diff(plan.somersault_deg)).max() <= MAX_STEP_DEG
        # Rotation is complete at water contact: the entry frames turn no more.
        entry = [j for j, s in enumerate(plan.stage) if s == "entry"]
        assert entry and plan.somersault_deg[entry[0]] == pytest.approx(360 * lab.somersaults)


def test_rendered_bodies_show_the_labelled_somersaults_twists_and_positions():
    with HumanoidRenderer(texture_seed=0) as r:
        for cls in (4, 29, 38, 30, 21):  # + forward dive straight, forward 2.5 with 1 twist pike
            lab = DIVING48_LABELS[cls]
            plan = S.plan_dive(2, cls, 0, 1, (34, 34), 25)
            _, _, poses = S.render_dive(r, plan, 2, 32, return_poses=True)
            som = _angles(poses, "somersault")
            assert abs(som[-1] - som[0]) / 360 == pytest.approx(lab.somersaults, abs=0.02), lab.text
            # The head goes away from the platform (+x) for forward and back take-offs.
            assert np.sign(som[-1] - som[0]) == (-1 if lab.takeoff in ("forward", "back") else 1), lab.text
            tw = _angles(poses, "twist")
            assert abs(tw[-1] - tw[0]) / 360 == pytest.approx(lab.twists, abs=0.02), lab.text
            hips, knees, head_low = [], [], []
            for pose, stage in zip(poses, plan.stage):
                r.set_pose(pose)
                f = r.link_frames()
                h, k = _flexion(f)
                if stage == "flight":
                    hips.append(h)
                    knees.append(k)
                if stage == "entry":
                    head_low.append(f[LINK["neck"], 1] < f[LINK["root"], 1])
            assert head_low and all(head_low) == (lab.somersaults % 1 == 0.5), lab.text  # head-first on x.5
            hip, knee = max(hips), max(knees)
            if lab.position == "tuck":
                assert hip > 100 and knee > 100, (lab.text, hip, knee)
            elif lab.position == "pike":
                assert hip > 100 and knee < 30, (lab.text, hip, knee)
            else:  # straight and free keep the body straight
                assert hip < 30 and knee < 30, (lab.text, hip, knee)


def test_splits_hold_out_views_palettes_and_water():
    from actkit.data.synth.scene import SPLIT_PALETTES, SPLIT_SECTORS, SPLIT_TEXTURES

    plans = [S.plan_dive(0, c, k, 10, (32, 48), 25) for c in range(48) for k in range(10)]
    assert {p.split for p in plans} == {"train", "val", "test"}
    for p in plans:
        assert p.sector in SPLIT_SECTORS[p.split] and p.palette in SPLIT_PALETTES[p.split]
        assert p.water in SPLIT_TEXTURES[p.split] and 32 <= p.frames <= 48
    for c in range(48):
        assert {p.split for p in plans if p.cls == c} == {"train", "val", "test"}


def test_deterministic_across_workers_and_resume(rendered, tmp_path):
    from actkit.data.video.sources import read_video

    d, _ = rendered
    kw = {**KW, "classes": CLASSES[:2]}  # a subset keeps video indices
    s2 = S.render_dives(tmp_path / "b", workers=2, **kw)
    assert s2["rendered"] == 2
    for name in (p.name for p in sorted((tmp_path / "b" / "labels").glob("*.json"))):
        one = json.loads((d / "a" / "labels" / name).read_text())
        two = json.loads((tmp_path / "b" / "labels" / name).read_text())
        assert one == two, name
        video = name.replace(".json", ".mp4")
        a, b = read_video(d / "a" / "rgb" / video), read_video(tmp_path / "b" / "rgb" / video)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))

    root = tmp_path / "b"
    videos = sorted(root.glob("rgb/*.mp4"))
    mtimes = [v.stat().st_mtime_ns for v in videos]
    again = S.render_dives(root, workers=1, **kw)
    assert again["rendered"] == 0 and again["skipped"] == 2
    assert [v.stat().st_mtime_ns for v in videos] == mtimes
    videos[0].unlink()
    again = S.render_dives(root, workers=1, **kw)
    assert again["rendered"] == 1 and videos[0].is_file()
    assert videos[1].stat().st_mtime_ns == mtimes[1]
    with pytest.raises(ValueError, match="other arguments"):
        S.render_dives(root, workers=1, **{**kw, "fps": 30})


@pytest.mark.parametrize("kwargs, match", [
    (dict(classes=[48]), "class index 48"), (dict(classes=["7253B"]), "7253B"), (dict(classes=["5152D"]), "not one of"),
    (dict(frames=(40, 30)), "frames"), (dict(frames=(1, 2, 3)), "frames"), (dict(size=63), "size=63"),
    (dict(videos_per_class=0), "videos_per_class"), (dict(workers=0), "workers"),
    (dict(classes=[28], frames=9), "too few"),  # 4.5 somersaults in 9 frames would alias
])
def test_bad_arguments(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        S.render_dives(tmp_path / "never", progress=False, **kwargs)
    assert not (tmp_path / "never").exists()


def test_classes_accept_numbers_and_rows():
    assert S.resolve_classes(["5231D", 4, "4", list(DIVING48_VOCAB[7])]) == [0, 4, 7]


def test_add_ground_texture_registers_once_and_refuses_bad_shapes():
    with HumanoidRenderer(texture_seed=0, num_textures=3) as r:
        water = S.make_water_texture(np.random.default_rng(0))
        i = r.add_ground_texture(water, key="w")
        assert i == 3 and r.add_ground_texture(water * 0, key="w") == 3 and len(r.textures) == 4
        assert np.array_equal(r.textures[3], water.astype(np.float32))
        for bad in (np.zeros((64, 32, 3)), np.zeros((48, 48, 3)), np.zeros(3)):
            with pytest.raises(ValueError, match="power of two"):
                r.add_ground_texture(bad)
