"""The One Euro filter and the keypoint sequence format."""
import numpy as np
import pytest

from actkit.perception.filters import OneEuroFilter, object_scale
from actkit.perception.sequence import load_sequences, save_sequences


def test_one_euro_quiets_jitter_and_follows_a_move():
    rng = np.random.default_rng(0)
    f = OneEuroFilter()  # the defaults actkit keypoints uses
    still = [f(np.array([100.0, 50.0]) + rng.normal(0, 1.0, 2), t / 30, scale=100.0) for t in range(60)]
    jitter_in = 1.0
    jitter_out = np.std(np.array(still[20:]), axis=0).max()
    assert jitter_out < jitter_in / 3  # a still point stops shaking
    f.reset()
    track = [f(np.array([100.0 + 10.0 * t, 50.0]), t / 30, scale=100.0) for t in range(30)]
    assert abs(track[-1][0] - (100 + 290)) < 5  # a point moving 300 px/s is followed within 5 px
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)


def test_object_scale_is_the_long_side_of_the_box():
    assert object_scale(np.array([[0, 0], [30, 80], [10, 5]])) == 80


def test_sequence_format_round_trips_and_refuses_wrong_shapes(tmp_path):
    a = np.random.default_rng(1).random((5, 1, 33, 4)).astype(np.float32)
    a[2] = np.nan  # a frame without anybody
    save_sequences(tmp_path / "kp.parquet", [{"source": "v.mp4", "fps": 16.0, "keypoints": a}])
    (row,) = load_sequences(tmp_path / "kp.parquet")
    assert row["source"] == "v.mp4" and row["fps"] == 16.0 and row["layout"] == "mediapipe33"
    np.testing.assert_array_equal(row["keypoints"], a)
    with pytest.raises(ValueError, match="frames, people, joints, 4"):
        save_sequences(tmp_path / "bad.parquet", [{"source": "v", "fps": 1, "keypoints": np.zeros((5, 33, 4))}])
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="junk.parquet: not a readable Parquet"):
        load_sequences(tmp_path / "junk.parquet")
