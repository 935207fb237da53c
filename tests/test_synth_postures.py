"""`actkit synth postures`: determinism, schema, honest splits, and the geometry labeller."""
import math

import numpy as np
import pytest

pytest.importorskip("pybullet_data")  # ships with pybullet; importing pybullet itself prints
pq = pytest.importorskip("pyarrow.parquet")

from actkit.data.schema import REQUIRED_COLUMNS, decode_image  # noqa: E402
from actkit.data.synth import postures as P  # noqa: E402
from actkit.data.synth.mocap import CLIP_NAMES, Pose, load_clip, quat_axis_angle  # noqa: E402
from actkit.data.synth.render import HumanoidRenderer  # noqa: E402

N = 30


@pytest.fixture(scope="module")
def renderer():
    with HumanoidRenderer() as r:
        yield r


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("postures")
    one = P.render_postures(d / "w1.parquet", n=N, seed=3, workers=1, sheet=d / "sheet.png", progress=False)
    two = P.render_postures(d / "w2.parquet", n=N, seed=3, workers=2, progress=False)
    return d, one, two


@pytest.fixture(scope="module")
def rows(rendered):
    return pq.read_table(rendered[0] / "w1.parquet").to_pylist()


def test_same_seed_same_content_whatever_the_workers(rendered):
    d, one, two = rendered
    a, b = pq.read_table(d / "w1.parquet"), pq.read_table(d / "w2.parquet")
    assert a.num_rows == one["rows"] == two["rows"] > 0
    assert a.column("image_bytes").to_pylist() == b.column("image_bytes").to_pylist()
    assert a.equals(b)
    assert one["labels"] == two["labels"] and one["splits"] == two["splits"]


def test_another_seed_gives_other_images(rendered, tmp_path):
    P.render_postures(tmp_path / "s.parquet", n=4, seed=4, workers=1, progress=False)
    other = pq.read_table(tmp_path / "s.parquet").column("image_bytes").to_pylist()
    mine = pq.read_table(rendered[0] / "w1.parquet").column("image_bytes").to_pylist()[:4]
    assert not set(other) & set(mine)


def test_schema_and_images(rows):
    for col in (*REQUIRED_COLUMNS, "source", "box", "camera_sector", "palette", "generator",
                "torso_angle", "thigh_angle"):
        assert col in rows[0], col
    for r in rows:
        assert r["label"] in P.LABELS and r["class_id"] == P.LABELS.index(r["label"])
        assert r["split"] in P.SPLITS
        assert r["source"].startswith("synth:postures:")
        img = decode_image(r["image_bytes"])
        assert img.shape == (r["height"], r["width"], 3)
        assert max(img.shape[:2]) <= 96
        x0, y0, x1, y1 = r["box"]
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        # The crop holds context around the person on at least one side of each axis.
        assert x1 - x0 < 1.0 and y1 - y0 < 1.0
        if r["label"] == "lying":  # end-on views of lying bodies are redrawn
            assert (y1 - y0) * r["height"] <= (x1 - x0) * r["width"] + 1.0
    assert P.LABELS == tuple(sorted(P.LABELS))


def test_splits_differ_in_viewpoint_palette_and_ground(rows):
    for r in rows:
        assert r["camera_sector"] in P.SPLIT_SECTORS[r["split"]]
        assert r["palette"] in P.SPLIT_PALETTES[r["split"]]
    for table in (P.SPLIT_SECTORS, P.SPLIT_PALETTES, P.SPLIT_TEXTURES):
        a, b, c = (set(table[s]) for s in P.SPLITS)
        assert not (a & b or a & c or b & c)
    # Mirroring maps sector k to -k: a held-out viewpoint must not be a mirror image of a train one.
    train = set(P.SPLIT_SECTORS["train"])
    assert all((-k) % P.NUM_SECTORS not in train for s in ("val", "test") for k in P.SPLIT_SECTORS[s])


def test_summary_and_sheet(rendered):
    d, one, _ = rendered
    assert one["rows"] + one["failed"] == N
    assert sum(one["labels"].values()) == one["rows"]
    assert sum(sum(v.values()) for v in one["splits"].values()) == one["rows"]
    assert one["seconds"] > 0 and one["samples_per_s"] > 0
    assert (d / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- geometry labeller

def _label(renderer, pose, support=0.0, rest=True):
    renderer.set_pose(pose)
    if rest:
        pose.root_pos = pose.root_pos - [0.0, renderer.lowest_point(), 0.0]
        renderer.set_pose(pose)
    return P.label_posture(P.measure_posture(renderer.link_frames(), renderer.link_aabbs(), support))


def rot_z(deg):
    return quat_axis_angle("z", math.radians(deg))


def _seated(hip=90.0, knee=90.0):
    pose = Pose.neutral(1.0)
    for hip_j, knee_j, ankle_j in ((3, 4, 5), (9, 10, 11)):
        pose.joints[hip_j] = rot_z(hip)
        pose.joints[knee_j] = np.array([-math.radians(knee)])
        pose.joints[ankle_j] = rot_z(knee - hip)
    return pose


def test_upright_neutral_pose_is_standing(renderer):
    assert _label(renderer, Pose.neutral()) == "standing"


def test_seated_pose_on_a_seat_is_sitting(renderer):
    pose = _seated()
    pose.root_pos = np.array([0.0, 0.5, 0.0])
    assert _label(renderer, pose, support=0.45, rest=False) == "sitting"
    # The same body with nothing under it (a crouch in the air) is not sitting ...
    assert _label(renderer, pose, support=0.0, rest=False) is None
    # ... nor is a seat pose folded forward far past the sitting limit.
    bent = _seated()
    bent.root_pos = np.array([0.0, 0.5, 0.0])
    bent.root_orn = rot_z(-70)
    bent.joints[3] = bent.joints[9] = rot_z(160)
    assert _label(renderer, bent, support=0.45, rest=False) is None


def test_horizontal_pose_is_lying(renderer):
    for turn in (90, -90):
        pose = Pose.neutral()
        pose.root_orn = rot_z(turn)
        assert _label(renderer, pose) == "lying"


def test_crawl_like_pose_is_ambiguous(renderer):
    pose = _seated(hip=90, knee=90)  # thighs vertical under a horizontal, face-down torso
    pose.root_orn = rot_z(-90)
    for shoulder in (6, 12):
        pose.joints[shoulder] = rot_z(90)  # arms straight down to the floor
    assert _label(renderer, pose) is None


def test_mocap_walk_is_standing_and_getup_starts_lying(renderer):
    assert _label(renderer, load_clip("walk").pose_at(0.3), rest=False) == "standing"
    assert _label(renderer, load_clip("getup_facedown").pose_at(0.0), rest=False) == "lying"


# ----------------------------------------------------------------------------- mocap


def test_clip_timing_and_interpolation():
    assert len(CLIP_NAMES) == 15
    clip = load_clip("walk")
    assert clip.times[0] == 0 and np.all(np.diff(clip.times) >= 0)
    k = 3
    a, b = clip.pose_at(clip.times[k]), clip.pose_at(clip.times[k + 1])
    mid = clip.pose_at((clip.times[k] + clip.times[k + 1]) / 2)
    assert mid.joints[4][0] == pytest.approx((a.joints[4][0] + b.joints[4][0]) / 2)  # knee: linear
    for q in mid.joints.values():
        assert len(q) == 1 or np.linalg.norm(q) == pytest.approx(1.0)
    # Non-looping clips clamp; walk loops and keeps travelling.
    kick = load_clip("kick")
    assert np.allclose(kick.pose_at(kick.duration + 5).root_pos, kick.pose_at(kick.duration).root_pos)
    later = clip.pose_at(0.1 + clip.duration).root_pos - clip.pose_at(0.1).root_pos
    assert np.linalg.norm(later[[0, 2]]) > 0.3


def test_mirror_reflects_the_body(renderer):
    pose = load_clip("punch").pose_at(0.6)
    renderer.set_pose(pose)
    a = renderer.link_frames()
    renderer.set_pose(pose.mirrored())
    b = renderer.link_frames()
    swap = [0, 1, 2, 9, 10, 11, 12, 13, 14, 3, 4, 5, 6, 7, 8]  # right <-> left links
    assert np.allclose(b, a[swap] * [1, 1, -1], atol=1e-5)
    twice = pose.mirrored().mirrored()
    assert all(np.allclose(twice.joints[j], pose.joints[j]) for j in pose.joints)
