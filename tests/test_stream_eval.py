"""`actkit eval` on streams / reps folders: oracle runners score perfectly, a delayed oracle by its delay,
an untrained model runs end to end (JSON + plots, CLI), and bad inputs fail clearly."""
import hashlib
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
cv2 = pytest.importorskip("cv2")

from actkit.data.synth.reps import EXERCISES, render_reps  # noqa: E402
from actkit.data.synth.streams import render_streams  # noqa: E402
from actkit.data.vocab import VOCABULARY  # noqa: E402
from actkit.data import vocab  # noqa: E402
from actkit.streaming import evaluate as SE  # noqa: E402
from actkit.streaming import postprocess, replay, report, tune  # noqa: E402
from actkit.streaming.tracking import iou_matrix  # noqa: E402

# seed 6: three 6-8 s videos, the test one an exercise set (plan_stream(6, 2, ...)); the rest mocap / idle
STREAMS = dict(videos=3, seconds=(6.0, 8.0), size=64, fps=8, seed=6, workers=1, progress=False)
DUO = dict(videos=1, seconds=(4.0, 5.0), size=64, fps=8, seed=4, people=(2, 2), workers=1, progress=False)
REPS = dict(videos_per_exercise=1, seconds=(2.0, 3.0), size=64, fps=8, seed=3, workers=1, progress=False)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    d = tmp_path_factory.mktemp("stream_eval")
    render_streams(d / "streams", **STREAMS)
    render_streams(d / "duo", **DUO)
    render_reps(d / "reps", **REPS)
    return d


def _truth(root):
    """Per video (by name): per person (labels, tags, boxes), and frame hash -> (video, frame)."""
    layout, videos = SE.read_stream_set(root, "all")
    index, people = {}, {}
    for v in videos:
        cap = cv2.VideoCapture(str(v.path))
        t = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            index[hashlib.md5(bgr[..., ::-1].tobytes()).hexdigest()] = (v.name, t)
            t += 1
        cap.release()
        people[v.name] = v.people
    return index, people


class Oracle:
    """A runner that knows the truth: one-hot on the frame's class ``shift`` frames ago (idle before that).

    Classes are tags (a pause inside a set is the rest position ``<exercise>_high``) or labels.
    It finds the frame by its pixels and, given boxes, the person by IoU with the true boxes.
    """

    kind = "stream"

    def __init__(self, root, vocabulary="tags", shift=0):
        self.index, self.people = _truth(root)
        self.class_names = vocab.tag_vocabulary() if vocabulary == "tags" else list(VOCABULARY)
        self.vocabulary, self.shift = vocabulary, shift

    def class_at(self, person, t):
        if t < 0:
            return "idle"
        label, tag = person.labels[t], person.tags[t]
        if self.vocabulary == "labels":
            return label
        return f"{label}_high" if tag == "idle" and label in EXERCISES else tag

    def __call__(self, rgb, boxes, keys):
        name, t = self.index[hashlib.md5(rgb.tobytes()).hexdigest()]
        people = self.people[name]
        out = np.zeros((len(keys), len(self.class_names)), np.float32)
        for i in range(len(keys)):
            person = people[0]
            if boxes is not None:
                true = [p.boxes[t] or [0, 0, 0, 0] for p in people]
                person = people[int(np.argmax(iou_matrix(np.array([boxes[i]]), np.array(true))[0]))]
            out[i, self.class_names.index(self.class_at(person, t - self.shift))] = 1
        return out

    def forget(self, keys):
        pass


class OracleDetector:
    """Every visible person's true box."""

    def __init__(self, root):
        self.index, self.people = _truth(root)

    def detect(self, rgb):
        name, t = self.index[hashlib.md5(rgb.tobytes()).hexdigest()]
        boxes = [p.boxes[t] for p in self.people[name] if p.boxes[t] is not None]
        return np.array(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32)


def test_oracle_scores_perfectly_on_streams(sets):
    root = sets / "streams"
    r = SE.evaluate_streams(Oracle(root), root, "all", smooth="none", min_event_frames=1, progress=False)
    a = r["frame_accuracy"]
    assert r["videos"] == 3 and r["frames"] == a["frames"] > 0 and r["skipped"] == []
    assert a["streaming"] == a["streaming_raw"] == a["offline"] == a["offline_no_transition"] == 1.0
    assert a["gap_points"] == 0.0
    e = r["events"]
    assert e["f1"] == 1.0 and e["fp"] == e["fn"] == 0 and e["tp"] >= 3 and e["onset_delay_frames_median"] == 0
    assert all(v["f1"] == 1.0 for v in e["per_label"].values())
    reps = r["reps"]  # the exercise set of the test video
    assert reps["sets"] == 1 and reps["mae"] == 0.0 and reps["exact"] == 1.0 and reps["items"][0]["true"] >= 1
    # the test split alone is that one video; EMA smoothing lags, so the smoothed accuracy drops below raw
    t = SE.evaluate_streams(Oracle(root), root, "test", smooth="ema", window=9, progress=False)
    assert t["videos"] == 1 and t["frame_accuracy"]["streaming_raw"] == 1.0
    assert t["frame_accuracy"]["streaming"] < 1.0 and t["frame_accuracy"]["gap_points"] > 0


def test_oracle_counts_every_rep_video(sets):
    root = sets / "reps"
    r = SE.evaluate_streams(Oracle(root), root, "all", smooth="none", min_event_frames=1, progress=False)
    assert r["layout"] == "reps" and r["videos"] == len(EXERCISES)
    assert r["reps"]["sets"] == len(EXERCISES) and r["reps"]["mae"] == 0.0 and r["reps"]["exact"] == 1.0
    assert sorted(r["reps"]["per_exercise"]) == sorted(EXERCISES)
    assert r["frame_accuracy"]["streaming"] == 1.0 and r["events"]["f1"] == 1.0
    assert r["options"]["rep_relative"] is True
    absolute = SE.evaluate_streams(Oracle(root), root, "all", smooth="none", rep_relative=False, progress=False)
    assert absolute["options"]["rep_relative"] is False and absolute["reps"]["mae"] == 0.0  # one-hot: the same counts
    # one rep lost per set: the counter sees no low position in the first rep of each set
    class Lazy(Oracle):
        def class_at(self, person, t):
            c = super().class_at(person, t)
            first = next((i for i, g in enumerate(person.tags) if g.endswith("_low")), None)
            low_run = first is not None and t >= first and all(g.endswith("_low") for g in person.tags[first:t + 1])
            return c.replace("_low", "_high") if low_run else c

    lazy = SE.evaluate_streams(Lazy(root), root, "all", smooth="none", progress=False)
    true = {x["video"]: x["true"] for x in r["reps"]["items"]}
    assert all(x["pred"] == true[x["video"]] - 1 for x in lazy["reps"]["items"])
    assert lazy["reps"]["mae"] == 1.0 and lazy["reps"]["exact"] == 0.0


def test_label_model_skips_reps(sets):
    root = sets / "reps"
    r = SE.evaluate_streams(Oracle(root, "labels"), root, "all", smooth="none", progress=False)
    assert "skipped" in r["reps"] and "_high" in r["reps"]["skipped"]
    assert r["class_vocabulary"] == "labels" and r["frame_accuracy"]["streaming"] == 1.0


@pytest.mark.parametrize("d", [1, 3])
def test_delayed_oracle_is_late_by_its_delay(sets, d):
    root = sets / "streams"
    oracle = Oracle(root, "labels", shift=d)
    r = SE.evaluate_streams(oracle, root, "all", smooth="none", min_event_frames=1, progress=False)
    truth = [x for v in SE.read_stream_set(root, "all")[1] for x in v.people[0].labels]
    shifted = [x for v in SE.read_stream_set(root, "all")[1]
               for t in range(v.frames) for x in [oracle.class_at(v.people[0], t - d)]]
    expected = np.mean([a == b for a, b in zip(shifted, truth)])
    assert r["frame_accuracy"]["streaming_raw"] == pytest.approx(expected) and expected < 1.0
    assert r["frame_accuracy"]["gap_points"] > 0  # a clip of the whole segment is mostly on time
    e = r["events"]
    assert e["tp"] >= 2 and e["onset_delay_frames_median"] == d and e["onset_delay_frames_mean"] == d
    assert e["onset_delay_ms_median"] == pytest.approx(d * 1000 / STREAMS["fps"])


def test_multi_person_tracking_with_oracle_detector(sets):
    root = sets / "duo"
    r = SE.evaluate_streams(Oracle(root), root, "all", smooth="none", detector=OracleDetector(root), progress=False)
    m = r["multi_person"]
    assert r["multi_person_videos"] == 1 and "frame_accuracy" not in r
    assert m["frames"] > 0 and m["id_switches"] == 0 and m["track_accuracy"] == 1.0 and m["coverage"] == 1.0
    t = SE.evaluate_streams(Oracle(root), root, "all", smooth="none", detector="truth", progress=False)
    assert t["multi_person"]["coverage"] == 1.0 and t["multi_person"]["id_switches"] == 0  # built-in oracle
    # no detections: nothing tracked, nothing matched
    class Blind:
        def detect(self, rgb):
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)

    b = SE.evaluate_streams(Oracle(root), root, "all", detector=Blind(), progress=False)["multi_person"]
    assert b["coverage"] == 0.0 and b["track_accuracy"] is None


def _untrained(tags):
    from actkit.models import create_model

    m = create_model("stream_fast_s", num_classes=len(tags), input_size=(64, 64))
    m.class_names = tags
    return m


def _spread_runner(seed):
    """An untrained tag model with its weights scaled up (an untrained head is near uniform), and its runner."""
    import torch

    from actkit.streaming.runners import StreamModelRunner

    tags = vocab.tag_vocabulary()
    torch.manual_seed(seed)
    m = _untrained(tags).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(1.5)
    return m, StreamModelRunner(m, tags)


def test_offline_equals_the_models_clip_prediction(sets):
    import torch

    from actkit.streaming.runners import stream_input

    m, runner = _spread_runner(0)
    v = SE.read_stream_set(sets / "streams", "all")[1][0]
    seg = v.people[0].segments[0]
    frames = [f for t, f in zip(range(seg["end"] + 1), replay.video_frames(v.path)) if t >= seg["start"]]
    log_sum = sum(np.log(np.maximum(runner(f, None, ["clip"])[0], 1e-30)) for f in frames)
    x = torch.from_numpy(np.stack([stream_input(f, None, runner.cfg) for f in frames])).permute(1, 0, 2, 3)[None]
    with torch.no_grad():
        want = torch.softmax(m(x), -1)[0].numpy()  # forward = the clip logits, mean over frames
    assert want.max() - want.min() > 1e-3
    np.testing.assert_allclose(replay.clip_probs(log_sum, len(frames)), want, atol=1e-5)


def test_offline_windows_are_centred_and_stay_inside_the_video():
    w = replay.window_starts(30, 8, 4)
    assert [c for c, _, _ in w] == list(range(0, 30, 4))
    assert all(e - s == 8 and 0 <= s and e <= 30 for _, s, e in w)
    assert w[0] == (0, 0, 8) and w[2] == (8, 4, 12) and w[-1] == (28, 22, 30)  # shifted in at both ends
    assert replay.window_starts(5, 16, 2) == [(0, 0, 5), (2, 0, 5), (4, 0, 5)]  # a short video: one whole clip


def test_offline_windows_equal_each_clip_run_alone(sets):
    """Each frame's offline-window label is the clip prediction of its window, stepped from a fresh state."""
    tags = vocab.tag_vocabulary()
    _, runner = _spread_runner(2)
    v = SE.read_stream_set(sets / "streams", "all")[1][0]
    frames = [f for f, _ in zip(replay.video_frames(v.path), range(v.frames))]
    _, _, win = replay._whole_video_probs(runner, frames, v.people[0].segments, False, window=8, hop=3)
    assert win.shape == (len(frames), len(tags))
    for c, s, e in replay.window_starts(len(frames), 8, 3)[::4]:
        runner.forget(["w"])
        log_sum = sum(np.log(np.maximum(runner(f, None, ["w"])[0], 1e-30)) for f in frames[s:e])
        want = replay.clip_probs(log_sum, e - s)
        for t in range(c, min(c + 3, len(frames))):
            np.testing.assert_allclose(win[t], want, atol=1e-5)
    r = SE.evaluate_streams(runner, sets / "streams", "all", max_videos=2, offline_window=8, offline_hop=3,
                            progress=False)
    a = r["frame_accuracy"]
    assert 0.0 <= a["offline_windows"] <= 1.0
    assert a["gap_points_windows"] == pytest.approx(100 * (a["offline_windows"] - a["streaming"]))
    assert "offline windows of 8 frames every 3" in report.format_stream_report(r)


def test_whole_video_path_equals_stepping_frame_by_frame(sets):
    """Torch models are scored with forward_frames over the whole video: the same labels as stepping."""
    tags = vocab.tag_vocabulary()
    _, fast = _spread_runner(1)

    class Stepping:  # the same runner without its model attribute: one step per frame
        kind, class_names = "stream", tags

        def __call__(self, rgb, boxes, keys):
            return fast(rgb, boxes, keys)

        def forget(self, keys):
            fast.forget(keys)

    root = sets / "streams"
    a = SE.evaluate_streams(fast, root, "all", max_videos=1, progress=False)
    b = SE.evaluate_streams(Stepping(), root, "all", max_videos=1, progress=False)
    assert a["frame_accuracy"] == b["frame_accuracy"] and a["events"] == b["events"]
    with pytest.raises(ValueError, match="offline windows need a torch streaming model"):
        SE.evaluate_streams(Stepping(), root, "all", max_videos=1, offline_window=8, progress=False)


def test_flip_averages_the_mirrored_stream_on_both_paths(sets):
    """--flip: the whole-video path and a FlipRunner stepping frame by frame give the same probabilities,
    each the mean of the frame's and its mirror's, and the mirror keeps its own state."""
    from actkit.streaming.runners import FlipRunner

    tags = vocab.tag_vocabulary()
    _, fast = _spread_runner(3)
    v = SE.read_stream_set(sets / "streams", "all")[1][0]
    frames = [f for f, _ in zip(replay.video_frames(v.path), range(v.frames))][:24]
    plain = replay._whole_video_probs(fast, frames, v.people[0].segments, False)[0]
    both = replay._whole_video_probs(fast, frames, v.people[0].segments, False, flip=True)[0]
    mirrored = replay._whole_video_probs(fast, [np.ascontiguousarray(f[:, ::-1]) for f in frames], [], False)[0]
    np.testing.assert_allclose(both, (plain + mirrored) / 2, atol=1e-5)
    assert np.abs(both - plain).max() > 1e-3  # the mirror changes the answer
    flip = FlipRunner(fast)
    assert flip.class_names == tags and flip.kind == "stream"
    stepped = np.stack([flip(f, None, ["k"])[0] for f in frames])
    np.testing.assert_allclose(stepped, both, atol=1e-4)
    flip.forget(["k"])
    assert "k" not in fast._states and ("flip", "k") not in fast._states
    h, w = frames[0].shape[:2]
    box = (4.0, 2.0, 30.0, h - 2.0)  # a track's box is mirrored with its frame
    got = flip(frames[0], [box], ["t"])[0]
    want = (fast(frames[0], [box], ["a"])[0] + fast(np.ascontiguousarray(frames[0][:, ::-1]),
                                                    [(w - 30.0, 2.0, w - 4.0, h - 2.0)], ["b"])[0]) / 2
    np.testing.assert_allclose(got, want, atol=1e-6)
    r = SE.evaluate_streams(fast, sets / "streams", "all", max_videos=1, flip=True, progress=False)
    assert r["options"]["flip"] is True


def test_lowpass_blurs_the_input_on_both_paths(sets):
    """--lowpass: the whole-video path and stepping frame by frame both blur each resized frame (the same
    probabilities), the blur changes them, and it is refused for a bad sigma or a runner it cannot reach."""
    import cv2

    from actkit.data.transforms import normalise_u8
    from actkit.streaming.runners import StreamModelRunner, load_runner, stream_input
    from actkit.data.transforms import letterbox

    m, fast = _spread_runner(4)
    v = SE.read_stream_set(sets / "streams", "all")[1][0]
    frames = [f for f, _ in zip(replay.video_frames(v.path), range(v.frames))][:16]
    plain = replay._whole_video_probs(fast, frames, [], False)[0]
    fast.lowpass = 1.5
    blurred = replay._whole_video_probs(fast, frames, [], False)[0]
    assert np.abs(blurred - plain).max() > 1e-3
    stepping = load_runner(m, lowpass=1.5)
    assert isinstance(stepping, StreamModelRunner) and stepping.lowpass == 1.5
    np.testing.assert_allclose(np.stack([stepping(f, None, ["k"])[0] for f in frames]), blurred, atol=1e-4)
    x = letterbox(frames[3], fast.cfg.input_size, value=0)[0]
    np.testing.assert_array_equal(stream_input(frames[3], None, fast.cfg, lowpass=1.5),
                                  normalise_u8(cv2.GaussianBlur(x, (0, 0), 1.5), fast.cfg))
    r = SE.evaluate_streams(m, sets / "streams", "all", max_videos=1, lowpass=1.5, offline=False, progress=False)
    assert r["options"]["lowpass"] == 1.5
    with pytest.raises(ValueError, match="lowpass must be"):
        SE.evaluate_streams(m, sets / "streams", "all", max_videos=1, lowpass=-1, progress=False)
    with pytest.raises(ValueError, match="--lowpass blurs a streaming model"):
        SE.evaluate_streams(Oracle(sets / "streams"), sets / "streams", "all", max_videos=1, lowpass=1.0,
                            progress=False)


def test_untrained_model_end_to_end_writes_json_and_plots(sets, tmp_path):
    root = sets / "streams"
    tags = vocab.tag_vocabulary()
    r = SE.evaluate_streams(_untrained(tags), root, "all", out=tmp_path / "ev", max_videos=2, progress=False)
    saved = json.loads((tmp_path / "ev" / "stream_eval.json").read_text())
    assert saved["videos"] == 2 and saved["classes"] == tags
    for k in ("streaming", "streaming_raw", "offline"):
        assert 0.0 <= saved["frame_accuracy"][k] <= 1.0
    assert {p.rsplit("/", 1)[1] for p in r["plots"]} == {"timeline_stream_000.png", "timeline_stream_001.png",
                                                        "confusion_streaming.png"}
    assert all((tmp_path / "ev" / p.rsplit("/", 1)[1]).stat().st_size > 1000 for p in r["plots"])
    assert "streaming" in report.format_stream_report(r)


def test_cli_evaluate_on_a_reps_folder(sets, tmp_path, capsys):
    from actkit.cli import main
    from actkit.engine.checkpoint import save_checkpoint

    names = [f"{e}_{p}" for e in EXERCISES for p in ("high", "low")] + ["idle"]
    ckpt = save_checkpoint(tmp_path / "m.pt", _untrained(names), names)
    rc = main(["evaluate", "--model", str(ckpt), "--data", str(sets / "reps"), "--split", "all", "--smooth", "mean",
               "--window", "3", "--max-videos", "2", "--event-threshold", "0.4", "--event-hold", "3", "--tune-events"])
    out = capsys.readouterr().out
    assert rc == 0 and "frame accuracy" in out and "repetitions" in out and "events" in out
    assert "event rule tuned here" in out and "--event-hold" in out
    saved = json.loads((tmp_path / "stream_eval_reps_all" / "stream_eval.json").read_text())  # next to the model
    assert saved["videos"] == 2 and saved["options"]["smooth"] == "mean" and saved["reps"]["sets"] == 2
    assert saved["options"]["event_hold"] == 3 and saved["events"]["threshold"] == 0.4
    assert saved["event_tuning"]["rules"] == 1560


def test_clear_errors(sets, tmp_path, capsys):
    root = sets / "streams"
    oracle = Oracle(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no labels"):
        SE.evaluate_streams(oracle, tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        SE.evaluate_streams(oracle, root, "dev")
    with pytest.raises(ValueError, match="no videos in the 'val' split"):
        SE.evaluate_streams(oracle, root, "val")

    class Foreign(Oracle):
        pass

    foreign = Foreign(root)
    foreign.class_names = ["cat", "dog"]
    with pytest.raises(ValueError, match=r"\['cat', 'dog'\].*neither"):
        SE.evaluate_streams(foreign, root, "all")
    with pytest.raises(ValueError, match="class_0"):  # an untrained registry model has no vocabulary
        SE.evaluate_streams("stream_fast_s", root, "all")

    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    (broken / "videos" / "stream_001.mp4").unlink()
    with pytest.raises(ValueError, match="stream_001.mp4 of stream_001 is missing"):
        SE.evaluate_streams(oracle, broken, "all")
    (broken / "videos" / "stream_001.mp4").write_bytes(b"not a video" * 100)  # corrupt: skipped and listed
    r = SE.evaluate_streams(oracle, broken, "all", smooth="none", progress=False)
    assert r["videos"] == 2 and [s["path"].rsplit("/", 1)[1] for s in r["skipped"]] == ["stream_001.mp4"]

    from actkit.cli import main

    assert main(["evaluate", "--model", "stream_fast_s", "--data", str(tmp_path / "broken"), "--split", "all"]) == 2
    assert "neither" in capsys.readouterr().err


def test_events_follow_the_live_hysteresis_rule():
    """A brief dip that loses the argmax but stays above half the threshold does not split an event;
    a deep one does; events shorter than min_frames are dropped; idle / transition are never events."""
    labels = ["idle", "transition", "walk", "jump"]
    p = np.zeros((30, 4))
    p[:, 0] = 1.0
    p[2:16] = [0.2, 0, 0.8, 0]
    p[8] = [0.6, 0, 0.4, 0]  # idle wins this frame, walk stays above 0.25
    p[20:22] = [0.1, 0, 0, 0.9]  # two frames of jump: shorter than min_frames
    assert tune.predicted_events(p, labels, 0.5, 3) == [("walk", 2, 15)]
    p[8] = [0.9, 0, 0.1, 0]  # a deep dip ends the event
    assert tune.predicted_events(p, labels, 0.5, 3) == [("walk", 2, 7), ("walk", 9, 15)]
    assert tune.predicted_events(p, labels, 0.5, 2)[-1] == ("jump", 20, 21)


@pytest.mark.parametrize("hold,lag", [(0, 0), (1, 0), (3, 0), (7, 0), (0, 1), (3, 4), (2, 9)])
def test_fast_events_equal_the_live_hysteresis(hold, lag):
    """The per-run event finder used for scoring and tuning gives exactly the frame-by-frame Hysteresis,
    with hindsight too (the live Lookahead against the offline lagged scores, short streams included)."""
    from actkit.streaming.postprocess import detect_events

    rng = np.random.default_rng(hold + 10 * lag)
    for trial in range(200):
        n = int(rng.integers(1, 80))
        p = np.clip(np.repeat(rng.random(n // 3 + 1), rng.integers(1, 5)), 0, 1)[:n]  # runs, as smoothed scores have
        on = float(rng.choice([0.3, 0.5, 0.7]))
        mf = int(rng.integers(1, 6))
        want = [tuple(e) for e in detect_events(p, on, on / 2, mf, "x", hold, lag)]
        assert postprocess.hysteresis_events(tune.lagged(p, lag), on, on / 2, mf, hold, "x") == want, \
            (trial, p.round(2).tolist(), on, mf)


def test_event_lag_places_events_with_hindsight():
    """A causal moving average places an event 4 frames late; with lag = (window - 1) / 2 the same
    average is centred: the start is the true one, the end 2 frames late (the off threshold is half)."""
    labels = ["idle", "transition", "walk"]
    p = np.zeros((40, 3))
    p[:, 0] = 1.0
    p[10:30] = [0, 0, 1]
    from actkit.streaming.postprocess import Hysteresis, Lookahead, moving_average

    smooth = moving_average(p, 9)
    assert tune.predicted_events(smooth, labels, 0.5, 4) == [("walk", 14, 35)]
    assert tune.predicted_events(smooth, labels, 0.5, 4, lag=4) == [("walk", 10, 31)]
    assert tune.lagged(np.arange(5), 2).tolist() == [2, 3, 4, 4, 4] and tune.lagged(np.arange(0), 3).size == 0
    with pytest.raises(ValueError, match="lag must be >= 0"):
        Lookahead(Hysteresis(), -1)


def test_tuning_the_event_rule_finds_the_best_and_the_flags_reproduce_it(sets):
    """A late, flickering oracle: the default rule splits its events; the tuned rule (smoothing, a hold)
    scores at least as well as every rule of the grid, the default's included, and its printed flags
    reproduce its F1."""
    root = sets / "streams"

    class Flicker(Oracle):
        def __call__(self, rgb, boxes, keys):
            out = super().__call__(rgb, boxes, keys)
            name, t = self.index[hashlib.md5(rgb.tobytes()).hexdigest()]
            if t % 7 == 3:  # every 7th frame the model drops to idle
                out[:] = 0
                out[:, self.class_names.index("idle")] = 1
            return out

    model = Flicker(root, vocabulary="labels")
    default = SE.evaluate_streams(model, root, "all", smooth="none", min_event_frames=4, progress=False, tune=True)
    t = default["event_tuning"]
    assert t["rules"] == (1 + 3 * 4) * 6 * 5 * 4  # no smoothing once, then 3 smoothers x 4 windows; x the rest
    assert default["events"]["f1"] < 1.0  # the default rule (no hold) splits events at every flicker
    b = t["best"]
    assert b["f1"] == 1.0 and b["event_hold"] > 0 and all(r["f1"] <= b["f1"] for r in t["top"])
    again = SE.evaluate_streams(model, root, "all", smooth=b["smooth"], window=b["window"],
                                event_threshold=b["event_threshold"], min_event_frames=b["min_event_frames"],
                                event_hold=b["event_hold"], progress=False)
    assert again["events"]["f1"] == pytest.approx(b["f1"])
    small = SE.evaluate_streams(model, root, "all", smooth="none", progress=False, tune=True, tune_grid={
        "smooth": ("mean",), "window": (1,), "threshold": (0.5,), "min_event_frames": (1, 4), "event_hold": (0,)})
    assert small["event_tuning"]["rules"] == 2 and small["event_tuning"]["best"]["f1"] < 1.0  # no hold, no smoothing
    with pytest.raises(ValueError, match="unknown event grid"):
        SE.evaluate_streams(model, root, "all", progress=False, tune=True, tune_grid={"windows": (3,)})
    # the HMM filter is not linear: tuning runs it on the classes (tags here), as the live pipeline does
    tags = Flicker(root, shift=2)
    grid = {"smooth": ("hmm",), "window": (9,), "threshold": (0.3, 0.6), "min_event_frames": (4,), "event_hold": (0,)}
    tuned = SE.evaluate_streams(tags, root, "all", progress=False, tune=True, tune_grid=grid)["event_tuning"]
    for row in tuned["top"]:
        live = SE.evaluate_streams(tags, root, "all", smooth="hmm", window=9, event_threshold=row["event_threshold"],
                                   min_event_frames=4, progress=False)
        assert live["events"]["f1"] == pytest.approx(row["f1"]) and row["smooth"] == "hmm"
