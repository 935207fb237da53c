"""`actkit synth skeletons`: MediaPipe-33 points from the humanoid's true joints, random cameras, the noise
model, splits by camera sector, the keypoint sequence file."""
import numpy as np
import pytest

pytest.importorskip("pybullet_data")

from actkit.cli import main  # noqa: E402
from actkit.data.keypoint_sequences import load_sequences  # noqa: E402
from actkit.data.synth.skeletons import Noise, clip_points, project, sample_sequence  # noqa: E402

CLEAN = Noise(jitter=0, drop_joint=0, swap=0, occlude_limb=0, drop_frame=0, time_warp=0)


def test_derived_points_sit_where_a_pose_model_puts_them():
    pts = clip_points("walk", False)[0]  # world, Y up; the body faces +x, its right side +z
    up = pts[[11, 12]].mean(0) - pts[[23, 24]].mean(0)
    assert up[1] > 0.3  # shoulders above hips
    assert pts[0, 1] > pts[[11, 12], 1].max()  # the nose above the shoulders
    assert pts[0, 0] > pts[[7, 8], 0].mean()  # and ahead of the ears
    assert pts[[2, 7, 11, 23], 2].mean() < pts[[5, 8, 12, 24], 2].mean()  # the person's left is -z
    for heel, toe, ankle, knee in ((29, 31, 27, 25), (30, 32, 28, 26)):
        assert pts[toe, 0] > pts[heel, 0] and pts[ankle, 1] < pts[knee, 1]
        assert abs(pts[heel, 1] - pts[toe, 1]) < 0.05  # both on the sole
    for wrist, fingers in ((15, (17, 19, 21)), (16, (18, 20, 22))):
        assert np.linalg.norm(pts[list(fingers)] - pts[wrist], axis=1).max() < 0.25


def test_a_camera_in_front_sees_the_left_side_on_the_right():
    pts = clip_points("walk", False)[:6]
    facing = pts[0, 0] - pts[0, [7, 8]].mean(0)
    xy, depth, cam = project(pts, np.random.default_rng(0), 0, facing / np.linalg.norm(facing))
    assert (xy[:, 11, 0] > xy[:, 12, 0]).all()  # left shoulder right of the right one
    assert (depth[:, 0] < depth[:, [7, 8]].mean(1)).all()  # the nose nearer than the ears
    behind = project(pts, np.random.default_rng(0), 4, facing / np.linalg.norm(facing))[0]
    assert (behind[:, 11, 0] < behind[:, 12, 0]).all()
    assert 35 <= cam["fov_deg"] <= 75


def test_noise_model_rates():
    pts = clip_points("run", False)
    rng = np.random.default_rng(1)
    clean = np.stack([sample_sequence(pts, rng, 32, 15, 0, 1.0, CLEAN)[0] for _ in range(30)])
    noisy = np.stack([sample_sequence(pts, rng, 32, 15, 0, 1.0, Noise(drop_frame=0.1))[0] for _ in range(30)])
    assert np.isfinite(clean).all()
    inside = clean[..., 3] > 0
    assert inside.mean() > 0.9 and clean[..., 3][inside].min() >= 0.75
    dropped = np.isnan(noisy[..., 0, 0])
    assert 0.05 < dropped.mean() < 0.16  # about 10 % of frames: nobody found
    vis = noisy[..., 3][~dropped]
    assert 0.02 < (vis < 0.35).mean() < 0.2  # dropped joints and occluded limbs


def test_skeletons_set_splits_by_camera_and_is_reproducible(tmp_path, capsys):
    out = tmp_path / "sk.parquet"
    assert main(["synth", "skeletons", "--out", str(out), "--sequences-per-class", "20", "--classes",
                 "walk,jump,cartwheel", "--frames", "16"]) == 0
    rows = load_sequences(out)
    assert len(rows) == 60 and {r["label"] for r in rows} == {"Walk", "Jump", "Cartwheel"}  # the video sets' names
    assert all(r["keypoints"].shape == (16, 1, 33, 4) and r["layout"] == "mediapipe33" for r in rows)
    sectors = {s: {r["sector"] for r in rows if r["split"] == s} for s in ("train", "val", "test")}
    assert sectors["train"] <= {0, 2, 4, 6} and sectors["val"] <= {3, 5} and sectors["test"] <= {1, 7}
    again = tmp_path / "again.parquet"
    assert main(["synth", "skeletons", "--out", str(again), "--sequences-per-class", "20", "--classes",
                 "walk,jump,cartwheel", "--frames", "16"]) == 0
    for a, b in zip(rows, load_sequences(again)):
        np.testing.assert_array_equal(a["keypoints"], b["keypoints"])  # NaN frames compare equal too
    with pytest.raises(ValueError, match="unknown classes"):
        from actkit.data.synth.skeletons import render_skeletons

        render_skeletons(tmp_path / "x.parquet", 1, classes=("moonwalk",))
