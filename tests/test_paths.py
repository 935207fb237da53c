"""Paths read from a manifest, CSV, split list or JSON annotation stay inside their dataset root: `..`,
absolute paths and symlinks out of it are refused and listed in `skipped` with the reason."""
import json
import os

import pytest

from actkit.data.video import read_csv, read_diving48, read_folder, read_ucf101

cv2 = pytest.importorskip("cv2")


def _video(path):
    from conftest import write_video
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, [np.full((32, 32, 3), 60 * i % 255, np.uint8) for i in range(4)])
    return path


@pytest.fixture()
def outside(tmp_path):
    """A readable video outside every dataset root below, and the root."""
    secret = _video(tmp_path / "private" / "secret.mp4")
    root = tmp_path / "ds"
    root.mkdir()
    return secret, root


def _reasons(table):
    return {os.path.basename(p): r for p, r in table.skipped}


def test_video_csv_refuses_dotdot_absolute_and_symlinks(outside):
    secret, root = outside
    _video(root / "a" / "ok1.mp4")
    _video(root / "a" / "ok2.mp4")
    _video(root / "b" / "ok3.mp4")
    (root / "link.mp4").symlink_to(secret)
    rows = ["path,label,split", "a/ok1.mp4,a,train", "a/ok2.mp4,a,test", "b/ok3.mp4,b,train",
            "../private/secret.mp4,b,train", f"{secret},b,test", "/etc/passwd,b,test", "link.mp4,a,val"]
    (root / "videos.csv").write_text("\n".join(rows) + "\n")
    table = read_csv(root / "videos.csv")
    kept = {os.path.basename(r.path) for r in table.records}
    assert kept == {"ok1.mp4", "ok2.mp4", "ok3.mp4"}
    reasons = _reasons(table)
    assert all("outside the dataset root" in reasons[n] for n in ("secret.mp4", "passwd"))
    assert len([p for p, r in table.skipped if "outside" in r]) == 4  # .., absolute twice, the symlink
    assert not any("private" in r.path or r.path == "/etc/passwd" for r in table.records)


def test_a_symlink_out_of_a_folder_dataset_is_refused(outside):
    secret, root = outside
    for k in range(4):
        _video(root / "walk" / f"v{k}.mp4")
        _video(root / "run" / f"v{k}.mp4")
    (root / "run" / "escape.mp4").symlink_to(secret)
    table = read_folder(root)
    assert not any(r.path == str(secret.resolve()) for r in table.records)
    assert any("outside the dataset root" in r for _, r in table.skipped)


def test_ucf_lists_and_diving48_json_cannot_name_files_outside(outside):
    secret, root = outside
    (root / "classInd.txt").write_text("1 Walk\n")
    _video(root / "Walk" / "v_Walk_g01_c01.mp4")
    _video(root / "Walk" / "v_Walk_g02_c01.mp4")
    (root / "trainlist01.txt").write_text("Walk/v_Walk_g01_c01.mp4 1\nWalk/../../private/secret.mp4 1\n")
    (root / "testlist01.txt").write_text("Walk/v_Walk_g02_c01.mp4\n")
    table = read_ucf101(root)
    assert all("private" not in r.path for r in table.records)
    assert any("outside the dataset root" in r for _, r in table.skipped)

    d48 = outside[1].parent / "d48"
    _video(d48 / "rgb" / "a_00001.mp4")
    (d48 / "Diving48_vocab.json").write_text(json.dumps([["Back", "1", "0", "TUCK"]]))
    (d48 / "Diving48_train.json").write_text(json.dumps([
        {"vid_name": "a_00001", "label": 0, "start_frame": 0, "end_frame": 4},
        {"vid_name": "../../private/secret", "label": 0, "start_frame": 0, "end_frame": 4}]))
    table = read_diving48(d48)
    assert [os.path.basename(r.path) for r in table.records] == ["a_00001.mp4"]
    assert any("outside the dataset root" in r for _, r in table.skipped)


def test_a_reps_label_naming_a_video_outside_is_skipped(tmp_path):
    from actkit.data.video.framelabels import read_labelled_videos

    root = tmp_path / "reps"
    (root / "labels" / "squat").mkdir(parents=True)
    (root / "videos" / "squat").mkdir(parents=True)
    label = {"exercise": "../../../private", "frames": 4, "rep_boundaries": [[0, 3]], "count": 1, "tags": ["x"] * 4,
             "fps": 8, "split": "train"}
    (root / "labels" / "squat" / "v0.json").write_text(json.dumps(label))
    skipped = []
    assert read_labelled_videos(root, skipped)[1] == []
    assert skipped and "lies outside" in skipped[0][1]
