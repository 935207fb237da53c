"""Keypoint streams and reps sets, per-frame training of the causal skeleton model, and skeleton models in the
live pipeline (keypoint runner, --reps auto, the pose model in front, user label files)."""
import json

import numpy as np
import pytest

pytest.importorskip("pybullet")

from actkit.cli import main  # noqa: E402
from actkit.data.skeleton_inputs import CausalNormaliser, causal_input  # noqa: E402
from actkit.data.synth.skeleton_sets import render_skeleton_reps, render_skeleton_streams  # noqa: E402
from actkit.data.video.framelabels import is_keypoint_set, read_labelled_videos  # noqa: E402

SEED = 8  # six 5-6 s streams at 8 fps: train, val and test videos


@pytest.fixture(scope="module")
def kp_streams(tmp_path_factory):
    out = tmp_path_factory.mktemp("kp") / "streams"
    render_skeleton_streams(out, videos=6, seconds=(5, 6), fps=8, seed=SEED, views=2, progress=False)
    return out


def test_keypoint_streams_follow_the_rendered_sets_plans(kp_streams):
    from actkit.data.keypoint_sequences import load_sequences
    from actkit.data.synth.stream_plan import plan_stream

    assert is_keypoint_set(kp_streams)
    layout, videos = read_labelled_videos(kp_streams)
    assert layout == "streams"
    names = sorted(v.name for v in videos)
    trains = [plan_stream(SEED, i, (5, 6), 8, (1, 1)).split for i in range(6)].count("train")
    assert len(names) == 6 + trains  # a second view of every training video only
    for v in videos:
        plan = plan_stream(SEED, int(v.name.split("_")[1]), (5, 6), 8, (1, 1))
        assert v.people[0].labels == plan.frame_labels(0) and v.split == plan.split
        kp = load_sequences(v.keypoints)[0]["keypoints"]
        assert kp.shape == (v.frames, 1, 33, 4)
        seen = np.isfinite(kp[:, 0, 0, 0])
        assert seen.mean() > 0.8  # a few dropped frames, as a pose model misses some
        assert (kp[seen, 0, :, 3] >= 0).all() and (kp[seen, 0, :, 3] <= 1).all()
    with pytest.raises(ValueError, match="other arguments"):
        render_skeleton_streams(kp_streams, videos=6, seconds=(5, 6), fps=8, seed=SEED + 1, views=2, progress=False)


def test_keypoint_reps_carry_counts_and_tags(tmp_path):
    s = render_skeleton_reps(tmp_path / "reps", videos_per_exercise=1, seconds=(4, 5), fps=8, progress=False)
    assert s["videos"] == 4 and s["reps"] > 0
    layout, videos = read_labelled_videos(tmp_path / "reps")
    assert layout == "reps" and all(v.keypoints is not None for v in videos)
    for v in videos:
        d = json.loads(v.label_file.read_text())
        assert len(d["tags"]) == v.frames and v.rep_spans[0][3] == d["count"]


def test_causal_input_is_the_live_normaliser_frame_by_frame():
    rng = np.random.default_rng(0)
    seq = rng.normal(300, 40, (12, 33, 4)).astype(np.float32)
    seq[..., 3] = 0.9
    seq[5] = np.nan  # nobody on frame 5
    x = causal_input(seq)
    norm = CausalNormaliser()
    for t in range(12):
        np.testing.assert_allclose(x[:, t], norm(seq[t]), atol=1e-6)
    assert (x[:, 5] == 0).all()
    # the first frame sits about its own hips whatever the camera's distance and position
    moved = seq.copy()
    moved[..., :2] = moved[..., :2] * 0.25 + 17
    np.testing.assert_allclose(causal_input(moved)[:2, 0], x[:2, 0], atol=1e-4)
    with pytest.raises(ValueError, match="one frame of keypoints"):
        CausalNormaliser()(np.zeros((17, 4)))


@pytest.fixture(scope="module")
def trained(kp_streams, tmp_path_factory):
    out = tmp_path_factory.mktemp("skstream")
    main(["train", "--task", "skeleton", "--data", str(kp_streams), "--model", "skel_stream_s", "--frames", "16",
          "--epochs", "1", "--batch-size", "8", "--out", str(out), "--run.plots", "false"])
    return out / "checkpoints" / "best.pt"


def test_per_frame_training_and_live_evaluation_on_keypoints(trained, kp_streams, tmp_path):
    import torch

    from actkit.data.keypoint_sequences import load_sequences
    from actkit.streaming.keypoint_runner import is_keypoint_model, keypoint_runner

    assert is_keypoint_model(trained)
    runner = keypoint_runner(trained)
    assert "idle" in runner.class_names and "transition" in runner.class_names
    v = next(v for v in read_labelled_videos(kp_streams)[1] if v.split == "val")
    kp = load_sequences(v.keypoints)[0]["keypoints"][:, 0]
    stepped = np.stack([runner(f, None, ["a"])[0] for f in kp])
    with torch.no_grad():
        whole = torch.softmax(runner.model.forward_frames(runner.clip_input(list(kp)))[0], -1).numpy()
    np.testing.assert_allclose(stepped, whole, atol=1e-4)  # streaming == offline
    with pytest.raises(ValueError, match="keypoints"):
        runner(np.zeros((64, 64, 3), np.uint8), None, ["b"])
    assert main(["evaluate", "--model", str(trained), "--data", str(kp_streams), "--split", "val",
                 "--out", str(tmp_path / "ev")]) == 0
    report = json.loads((tmp_path / "ev" / "stream_eval.json").read_text())
    assert report["layout"] == "streams" and report["frames"] == sum(
        x.frames for x in read_labelled_videos(kp_streams)[1] if x.split == "val")
    assert 0 <= report["frame_accuracy"]["streaming"] <= 1 and "f1" in report["events"]


def test_reps_auto_counts_the_exercise_the_model_sees():
    from types import SimpleNamespace

    from actkit.streaming.step import KeyPost, post_options

    names = ["idle", "squat_high", "squat_low", "lunge_high", "lunge_low"]
    cfg = SimpleNamespace(reps="auto", smooth="none", window=1, event_threshold=0.5, min_event_frames=1, event_hold=0,
                          event_lag=0, rep_thresholds=(0.5, 0.5), vote=None)
    post = KeyPost(names, post_options(names, cfg), {})
    counted = []
    for t in range(30):  # three squats: high, low, high, ...
        p = np.full(5, 0.02, np.float32)
        p[2 if (t // 5) % 2 else 1] = 0.92
        counted += post.update(p, t)[2]
    assert counted.count("reps_squat") == 2 and "reps_lunge" not in counted  # the third is still going down
    with pytest.raises(ValueError, match="reps auto"):
        post_options(["idle", "walk"], cfg)


def test_user_label_files_with_segments(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "videos" / "me.avi").write_bytes(b"")
    (tmp_path / "labels" / "me.json").write_text(json.dumps(
        {"fps": 30, "frames": 10, "segments": [{"label": "sitting", "start": 2, "end": 6}]}))
    layout, (v,) = read_labelled_videos(tmp_path)
    assert layout == "streams" and v.path.name == "me.avi" and v.split == "test"
    assert v.people[0].labels == ["idle"] * 2 + ["sitting"] * 5 + ["idle"] * 3
    (tmp_path / "labels" / "me.json").write_text(json.dumps({"fps": 30, "frames": 10, "labels": ["idle"] * 9}))
    with pytest.raises(ValueError, match="me.json"):
        read_labelled_videos(tmp_path)


def test_pose_runner_puts_the_pose_model_in_front_of_a_shipped_model():
    import cv2

    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.live import PoseRunner
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    rgb = cv2.cvtColor(cv2.imread(str(sample_path("messi5.jpg"))), cv2.COLOR_BGR2RGB)
    runner = PoseRunner("posture")
    p = runner(rgb, None, [0])
    assert p.shape == (1, 3) and abs(p.sum() - 1) < 1e-5
    assert np.isfinite(runner.keypoints[0]).all()  # the player was found
    runner.forget([0])
    assert not runner.keypoints
    with pytest.raises(ValueError, match="RGB"):
        runner(np.zeros((33, 4), np.float32), None, [1])


def test_keypoints_task_trains_on_one_pose_per_sample(tmp_path):
    from actkit.streaming.keypoint_runner import keypoint_runner

    data = tmp_path / "postures.parquet"
    assert main(["synth", "skeletons", "--set", "postures", "--n", "90", "--frames", "3", "--out", str(data)]) == 0
    assert main(["train", "--task", "keypoints", "--data", str(data), "--model", "skel_gcn_s", "--epochs", "1",
                 "--batch-size", "32", "--out", str(tmp_path / "run"), "--run.plots", "false"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task"] == "keypoints"
    assert sum(summary[s]["num_samples"] for s in ("val", "test") if s in summary) > 30  # frames, not sequences
    runner = keypoint_runner(tmp_path / "run" / "checkpoints" / "best.pt")
    assert runner.window == 1 and runner.class_names == ["lying", "sitting", "standing"]
    frame = np.full((33, 4), 100.0, np.float32)
    frame[:, :2] += np.random.default_rng(0).normal(0, 30, (33, 2))
    frame[:, 3] = 1
    assert runner(frame, None, [0]).shape == (1, 3)


def test_shipped_model_streams_from_a_file_and_a_url(tmp_path):
    import functools
    import http.server
    import threading

    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    video = sample_path("vtest.avi")
    out = tmp_path / "file.jsonl"
    assert main(["stream", "--model", "posture", "--source", str(video), "--track", "--detector", "motion",
                 "--max-frames", "12", "--jsonl", str(out)]) == 0
    rows = [r for r in map(json.loads, out.read_text().splitlines()) if "tracks" in r]
    assert len(rows) == 12 and any(t["label"] in ("standing", "sitting", "lying") for r in rows for t in r["tracks"])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(video.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/vtest.avi"
        out = tmp_path / "url.jsonl"
        assert main(["stream", "--model", "posture", "--source", url, "--max-frames", "8", "--jsonl", str(out)]) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows and set(rows[0]["probs"]) == {"lying", "sitting", "standing"}
    finally:
        server.shutdown()


def test_nobody_in_view_gets_no_confident_answer(trained):
    from actkit.streaming.keypoint_runner import MISSING_FRAMES, keypoint_runner

    runner = keypoint_runner(trained)
    uniform = 1 / len(runner.class_names)
    nobody = np.full((33, 4), np.nan, np.float32)
    assert np.allclose(runner(nobody, None, ["k"]), uniform)  # before the first body
    body = np.random.default_rng(1).normal(200, 30, (33, 4)).astype(np.float32)
    body[:, 3] = 0.9
    runner(body, None, ["k"])
    assert not np.allclose(runner(nobody, None, ["k"]), uniform)  # a missed frame: the model still answers
    for _ in range(MISSING_FRAMES):
        p = runner(nobody, None, ["k"])
    assert np.allclose(p, uniform)


def test_stateful_onnx_export_of_a_skeleton_model_steps_as_torch(trained, tmp_path):
    from actkit.streaming.keypoint_runner import is_keypoint_model, keypoint_runner

    onnx_path = tmp_path / "ex.onnx"
    assert main(["export", str(trained), "--stream", "--out", str(onnx_path)]) == 0
    assert is_keypoint_model(onnx_path)
    a, b = keypoint_runner(trained), keypoint_runner(onnx_path)
    assert b.predictor is None and b.class_names == a.class_names and b.fps == a.fps
    rng = np.random.default_rng(2)
    for t in range(20):
        frame = rng.normal(240, 40, (33, 4)).astype(np.float32)
        frame[:, 3] = 0.9
        if t == 7:
            frame[:] = np.nan
        np.testing.assert_allclose(a(frame, None, [0]), b(frame, None, [0]), atol=1e-4)


def test_true_joints_project_onto_the_rendered_person():
    from actkit.bench.pose_errors import BODY, project_camera
    from actkit.data.synth.render import close_process_renderer, init_process_renderer, process_renderer
    from actkit.data.synth.reps import plan_cameras, plan_poses, plan_video, render_video
    from actkit.data.synth.skeleton_sets import body_points
    from actkit.data.synth.scene import NUM_TEXTURES
    from actkit.data.synth.skeletons import fk_renderer

    plan = plan_video(0, "squat", 0, 1, (2.0, 3.0), 8)
    init_process_renderer(0, NUM_TEXTURES)
    try:
        _, boxes = render_video(process_renderer(), plan, 0, 96, 8)
    finally:
        close_process_renderer()
    poses, corners, rng = plan_poses(fk_renderer(), plan, 0)
    world = body_points(fk_renderer(), poses)
    for t, camera in enumerate(plan_cameras(poses, corners, rng, plan)):
        if boxes[t] is None:
            continue
        xy = project_camera(world[t], camera, 96)[BODY]
        x0, y0, x1, y1 = boxes[t]
        assert (xy[:, 0] >= x0 - 3).all() and (xy[:, 0] <= x1 + 3).all(), t
        assert (xy[:, 1] >= y0 - 3).all() and (xy[:, 1] <= y1 + 3).all(), t
