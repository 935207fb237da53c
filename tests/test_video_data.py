"""actkit.data.video: readers, seeking decode, samplers, per-clip transforms, cache, ClipDataset.

Every video here is a few dozen tiny frames encoded on the fly; no test needs a real dataset.
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

from conftest import write_video

av = pytest.importorskip("av")

from actkit.data.video import (ClipAugment, ClipDataset, ClipTransform, FrameCache, VideoDecodeError,  # noqa: E402
                               VideoReader, average_clips, bench_decode, cutmix, detect_format, make_sampler, mixup,
                               one_hot, read_videos, temporal_jitter)
from actkit.data.video.samplers import pad_indices  # noqa: E402
from actkit.data.video.cache import resized_shape  # noqa: E402
from actkit.models._base import DataConfig  # noqa: E402


def _has_x264() -> bool:
    try:
        av.codec.Codec("libx264", "w")
        return True
    except Exception:  # noqa: BLE001
        return False


def frame_image(i: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Frame ``i``: its index in the red level plus moving lines (so frames differ everywhere)."""
    rng = np.random.default_rng(i)
    img = (rng.random((h, w, 3)) * 30).astype(np.uint8)
    img[..., 0] += np.uint8((i * 5) % 200)
    img[(i * 3) % h, :, 1] = 255
    img[:, (i * 5) % w, 2] = 255
    return img


def encode(path, n: int = 40, gop: int = 8, offset: int = 0, fmt: str | None = None, codec: str = "libx264",
           fps: int = 25, h: int = 48, w: int = 64):
    """Encode ``n`` frames with PyAV: x264 uses B-frames; ``offset`` shifts every pts (not starting at 0)."""
    with av.open(str(path), "w", format=fmt) as c:
        opts = {"g": str(gop), "keyint_min": str(gop), "bf": "3"} if codec == "libx264" else {}
        s = c.add_stream(codec, rate=fps, options=opts)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = gop
        for i in range(n):
            f = av.VideoFrame.from_ndarray(frame_image(i, h, w), format="rgb24")
            f.pts = i + offset
            c.mux(s.encode(f))
        c.mux(s.encode())
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("vids")
    out = {"mp4v": write_video(d / "cv.mp4", [frame_image(i) for i in range(30)], fps=25.0)}
    codec = "libx264" if _has_x264() else "mpeg4"
    out["mp4"] = encode(d / "a.mp4", codec=codec)
    out["mp4_offset"] = encode(d / "b.mp4", offset=37, codec=codec)
    out["mpegts"] = encode(d / "c.ts", fmt="mpegts", codec=codec)
    out["mkv_offset"] = encode(d / "d.mkv", offset=11, fmt="matroska", codec=codec)
    return out


# --------------------------------------------------------------------------- decoding


def _full_decode(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.mark.parametrize("kind", ["mp4v", "mp4", "mp4_offset", "mpegts", "mkv_offset"])
@pytest.mark.parametrize("skip_nonref", [True, False])
def test_seeking_decode_equals_full_decode(videos, kind, skip_nonref):
    full = _full_decode(videos[kind])
    r = VideoReader(videos[kind], skip_nonref=skip_nonref)
    n = r.num_frames
    assert n == len(full)  # also for containers without a frame count in the header (TS, MKV)
    rng = np.random.default_rng(0)
    sets = [rng.integers(0, n, rng.integers(1, 9)) for _ in range(12)]
    sets += [np.arange(n)[::-1], np.array([n - 1, 0, n - 1, 0]), np.arange(0, n, 7)]
    for idx in sets:
        got = r.get_frames(idx)
        assert got.dtype == np.uint8 and got.shape == (len(idx), 48, 64, 3)
        np.testing.assert_array_equal(got, full[idx], err_msg=f"{kind} indices {idx.tolist()}")
    r.close()


def test_probe_reads_header_only(videos):
    r = VideoReader(videos["mp4_offset"])
    assert (r.num_frames, r.size, r.fps) == (40, (48, 64), 25.0)
    assert r._start > 0  # this file's timestamps do not start at 0
    with pytest.raises(IndexError, match="outside"):
        r.get_frames([40])
    r.close()
    # reopens after close; picklable for DataLoader workers
    import pickle

    r2 = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(r2.get_frames([5]), _full_decode(videos["mp4_offset"])[[5]])


def test_get_frames_resizes(videos):
    with VideoReader(videos["mp4"]) as r:
        assert r.get_frames([1, 2], size=(24, 32)).shape == (2, 24, 32, 3)


def test_bad_videos_raise_naming_the_file(tmp_path, videos):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4000))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(videos["mp4"].read_bytes()[:600])
    for p in (empty, junk, cut, tmp_path / "missing.mp4"):
        with pytest.raises(VideoDecodeError, match=p.name):
            VideoReader(p).get_frames([0, 5])
    assert issubclass(VideoDecodeError, ValueError)


def test_bench_decode_reports_ratio(videos):
    res = bench_decode(videos["mp4"], frames=4, repeats=1)
    assert res["identical"] and res["num_frames"] == 40
    assert res["ratio"] > 0 and res["sparse_ms"] > 0 and res["whole_ms"] > 0


# --------------------------------------------------------------------------- samplers


def test_uniform_sampler():
    s = make_sampler("uniform", 4)
    np.testing.assert_array_equal(s(40), [5, 15, 25, 35])  # segment centres
    a = s(40, np.random.default_rng(3))
    np.testing.assert_array_equal(a, s(40, np.random.default_rng(3)))  # deterministic given the rng
    assert all(10 * k <= v < 10 * (k + 1) for k, v in enumerate(a))  # one frame per segment
    draws = {tuple(s(40, np.random.default_rng(k))) for k in range(10)}
    assert len(draws) > 1
    np.testing.assert_array_equal(make_sampler("uniform", 5, pad="loop")(3), [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(make_sampler("uniform", 5, pad="black")(3), [0, 1, 2, -1, -1])
    np.testing.assert_array_equal(pad_indices(np.arange(2), 2, 4, "stretch"), [0, 0, 1, 1])
    # multi-view: clip k of K shifts the grid inside each segment
    assert s(40, None, 0, 2).tolist() == [2, 12, 22, 32] and s(40, None, 1, 2).tolist() == [7, 17, 27, 37]


def test_random_window_and_dense():
    s = make_sampler("random_window", 4, stride=3)
    np.testing.assert_array_equal(s(40), [15, 18, 21, 24])  # centred: 15 frames either side
    for k in range(20):
        w = s(40, np.random.default_rng(k))
        assert np.all(np.diff(w) == 3) and w[0] >= 0 and w[-1] < 40
    assert np.all(np.diff(s(6)) == 1)  # too short for stride 3: stride shrinks
    np.testing.assert_array_equal(s(2), [0, 1, 0, 1])  # too short for any stride: loops
    d = make_sampler("dense", 4, stride=2)
    clips = [d(40, np.random.default_rng(9), k, 3) for k in range(3)]
    assert clips[0][0] == 0 and clips[-1][-1] == 39 and clips[1][0] == 16  # evenly spaced, ignores rng
    with pytest.raises(ValueError, match="unknown clip sampler"):
        make_sampler("nope", 4)


def test_random_window_speed_jitter_changes_the_step_in_training_only():
    s = make_sampler("random_window", 8, stride=2, speed_jitter=0.4)
    spans = set()
    for k in range(40):
        w = s(100, np.random.default_rng(k))
        assert np.all(np.diff(w) >= 1) and w[0] >= 0 and w[-1] < 100  # in order, no repeated frame
        assert 1 <= np.diff(w).mean() <= 2 * 1.4 + 1e-9
        spans.add(int(w[-1] - w[0]))
    assert min(spans) < 12 < 16 < max(spans)  # slower and faster than the plain stride's span of 14
    np.testing.assert_array_equal(s(100), make_sampler("random_window", 8, stride=2)(100))  # evaluation: plain
    short = s(12, np.random.default_rng(0))  # the window shrinks to fit a short video
    assert short[-1] < 12 and np.all(np.diff(short) >= 1)
    with pytest.raises(ValueError, match="speed_jitter"):
        make_sampler("random_window", 8, speed_jitter=1.0)


def test_temporal_jitter_keeps_order_and_range():
    idx = np.array([0, 1, 2, 3, -1])
    for k in range(20):
        out = temporal_jitter(idx, 4, np.random.default_rng(k), 2)
        assert np.all(np.diff(out[:4]) >= 0) and out[:4].min() >= 0 and out[:4].max() <= 3 and out[4] == -1
    np.testing.assert_array_equal(temporal_jitter(idx, 4, None, 2), idx)


# --------------------------------------------------------------------------- transforms


def test_clip_transform_draws_once_per_clip():
    cfg = DataConfig(input_size=(16, 16), num_frames=6, mean=(0.4, 0.4, 0.4), std=(0.2, 0.2, 0.2))
    t = ClipTransform(cfg, ClipAugment(scale=(1.0, 1.6), hflip=True, colour_jitter=0.5))
    rng = np.random.default_rng(0)
    frame = (rng.random((40, 56, 3)) * 255).astype(np.uint8)
    clip = np.repeat(frame[None], 6, axis=0)
    outs = []
    for seed in range(8):
        out = t(clip, np.random.default_rng(seed))
        assert out.shape == (3, 6, 16, 16) and out.dtype == np.float32
        # same crop, flip and colour for every frame: identical frames stay identical
        for k in range(1, 6):
            np.testing.assert_array_equal(out[:, k], out[:, 0])
        outs.append(out[:, 0])
    assert any(not np.allclose(outs[0], o) for o in outs[1:])  # but clips do differ
    # applying one draw frame by frame gives the same result as to the whole clip
    moving = np.stack([np.roll(frame, 3 * k, axis=1) for k in range(6)])
    p = t.draw(40, 56, np.random.default_rng(5))
    whole = t.apply(moving, p)
    parts = np.concatenate([t.apply(moving[k:k + 1], p) for k in range(6)], axis=1)
    assert p.flip or p.jitter_seed is not None
    np.testing.assert_allclose(whole, parts, atol=0.05)  # colour jitter mean over the clip vs per frame


def test_normalise_u8_is_the_float_formula_for_frames_and_clips():
    from actkit.data.transforms import convert_colour, normalise_u8

    rng = np.random.default_rng(1)
    clip = (rng.random((3, 5, 7, 3)) * 255).astype(np.uint8)
    for colour in ("rgb", "y", "lab"):
        c = 1 if colour == "y" else 3
        cfg = DataConfig(input_size=(5, 7), colour=colour, mean=(0.4,) * c, std=(0.2,) * c)
        ref = np.stack([convert_colour(f.astype(np.float32) / 255, colour) for f in clip])
        ref = np.moveaxis((ref - 0.4) / 0.2, -1, 0)
        got = normalise_u8(clip, cfg)
        assert got.shape == (c, 3, 5, 7) and got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
        np.testing.assert_array_equal(normalise_u8(clip[1], cfg), got[:, 1])  # a frame alone: the same bits
    with pytest.raises(ValueError, match="uint8 RGB"):
        normalise_u8(clip.astype(np.float32), cfg)


def test_uint8_colour_jitter_matches_the_float_formula():
    from actkit.data.transforms import colour_jitter
    from actkit.data.video.transforms import clip_colour_jitter_u8

    rng = np.random.default_rng(0)
    clip = (rng.random((4, 12, 10, 3)) * 255).astype(np.uint8)
    for seed in range(6):
        ref = colour_jitter(clip.astype(np.float32) / 255, np.random.default_rng(seed), 0.5) * 255
        got = clip_colour_jitter_u8(clip.copy(), np.random.default_rng(seed), 0.5)
        assert got.dtype == np.uint8
        assert np.abs(got - ref).max() <= 1.0  # the float result, to within one grey level
        assert np.abs(got.astype(int) - clip).max() > 3  # and the jitter did change the clip


def test_hue_jitter_turns_colours_and_keeps_greys():
    from actkit.data.transforms import hue_rotation
    from actkit.data.video.transforms import clip_colour_jitter_u8

    r = hue_rotation(2 * np.pi / 3)
    np.testing.assert_allclose(r @ np.array([1.0, 0, 0]), [0, 1, 0], atol=1e-6)  # red -> green
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(hue_rotation(0.7) @ np.ones(3), np.ones(3), atol=1e-6)  # grey axis fixed
    clip = np.zeros((2, 4, 4, 3), np.uint8)
    clip[..., 0] = 200  # red
    clip[:, :2, :2] = 128  # a grey patch
    plain = [clip_colour_jitter_u8(clip.copy(), np.random.default_rng(s), 0.3) for s in range(8)]
    same = [clip_colour_jitter_u8(clip.copy(), np.random.default_rng(s), 0.3, hue=0.0) for s in range(8)]
    assert all((a == b).all() for a, b in zip(plain, same))  # hue 0: the same draws as before
    turned = [clip_colour_jitter_u8(clip.copy(), np.random.default_rng(s), 0.0, hue=0.5) for s in range(8)]
    dominant = {int(np.argmax(t[0, 3, 3])) for t in turned}
    assert len(dominant) >= 2  # the red turned into other hues
    for t in turned:
        g = t[:, :2, :2].astype(int)
        assert np.ptp(g, axis=-1).max() <= 1  # greys stay grey
    with pytest.raises(ValueError, match="hue_jitter"):
        ClipTransform(DataConfig(input_size=(8, 8), num_frames=2), ClipAugment(hue_jitter=0.7))


def test_crop_hue_jitter_in_training_only():
    from actkit.data.transforms import CropAugment, colour_jitter, crop_to_input

    img = np.zeros((20, 16, 3), np.uint8)
    img[..., 0] = 220  # red
    assert np.array_equal(colour_jitter(img / 255.0, np.random.default_rng(3), 0.3),
                          colour_jitter(img / 255.0, np.random.default_rng(3), 0.3, hue=0.0))
    cfg = DataConfig(input_size=(8, 6), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    aug = CropAugment(box_jitter=0, scale_jitter=0, hflip=False, colour_jitter=0, hue_jitter=0.5)
    turned = [crop_to_input(img, None, cfg, np.random.default_rng(s), aug) for s in range(8)]
    assert len({int(np.argmax(t[:, 4, 3])) for t in turned}) >= 2  # red became other hues
    plain = crop_to_input(img, None, cfg)  # evaluation: no jitter
    assert np.argmax(plain[:, 4, 3]) == 0
    with pytest.raises(ValueError, match="hue_jitter"):
        CropAugment(hue_jitter=0.6)


def test_clip_transform_blur():
    cfg = DataConfig(input_size=(32, 32), num_frames=2, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    rng = np.random.default_rng(0)
    clip = np.repeat((rng.random((1, 32, 32, 3)) * 255).astype(np.uint8), 2, axis=0)
    sharp = ClipTransform(cfg, ClipAugment(scale=(1.0, 1.0), hflip=False, colour_jitter=0))
    soft = ClipTransform(cfg, ClipAugment(scale=(1.0, 1.0), hflip=False, colour_jitter=0, blur=2.0))
    draws = [soft.draw(32, 32, np.random.default_rng(s)) for s in range(40)]
    sigmas = [p.blur_sigma for p in draws]
    assert 10 < sum(s > 0 for s in sigmas) < 30 and all(s == 0 or 0.2 <= s <= 2.0 for s in sigmas)
    p = next(p for p in draws if p.blur_sigma > 1.0)

    def roughness(x):  # mean absolute difference of neighbouring pixels
        return float(np.abs(np.diff(x, axis=-1)).mean())

    blurred, plain = soft.apply(clip, p), sharp.apply(clip, sharp.draw(32, 32, np.random.default_rng(0)))
    assert roughness(blurred) < 0.5 * roughness(plain)
    np.testing.assert_array_equal(blurred[:, 0], blurred[:, 1])  # the same blur on every frame
    assert ClipTransform(cfg).draw(32, 32).blur_sigma == 0  # evaluation never blurs
    with pytest.raises(ValueError, match="blur"):
        ClipTransform(cfg, ClipAugment(blur=-1))


def test_clip_transform_eval_normalises():
    cfg = DataConfig(input_size=(8, 8), num_frames=2, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    clip = np.full((2, 20, 30, 3), 255, np.uint8)
    out = ClipTransform(cfg)(clip)
    np.testing.assert_allclose(out, 2.0, atol=1e-5)
    with pytest.raises(ValueError, match="uint8 frames"):
        ClipTransform(cfg)(np.zeros((20, 30, 3), np.uint8))


def test_mixup_cutmix_smoothing():
    y = torch.tensor([0, 1, 2, 1])
    soft = one_hot(y, 3, 0.3)
    np.testing.assert_allclose(soft.sum(1), 1.0, atol=1e-6)
    assert soft[0, 0].item() == pytest.approx(0.8) and soft[0, 1].item() == pytest.approx(0.1)
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1, 1).expand(4, 1, 4, 6, 6).contiguous()
    g = torch.Generator().manual_seed(0)
    xm, ym, lam = mixup(x, y, 3, alpha=0.4, generator=g)
    np.testing.assert_allclose(ym.sum(1), 1.0, atol=1e-6)
    assert 0 <= lam <= 1
    g = torch.Generator().manual_seed(1)
    xc, yc, lam = cutmix(x, y, 3, alpha=1.0, generator=g)
    np.testing.assert_allclose(yc.sum(1), 1.0, atol=1e-6)
    kept = (xc == x).float().mean(dim=(1, 2, 3, 4))  # share of each clip left as it was
    moved = kept < 1
    if moved.any():  # pasted samples keep exactly lam of their volume
        np.testing.assert_allclose(kept[moved], lam, atol=1e-6)
    assert xc.shape == x.shape
    with pytest.raises(ValueError, match="labels must be in"):
        one_hot(torch.tensor([3]), 3)


def test_cutmix_of_images_pastes_a_box_of_the_area():
    x = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 3, 16, 12).contiguous()
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    for seed in range(5):
        xc, yc, lam = cutmix(x, y, 3, alpha=1.0, generator=torch.Generator().manual_seed(seed))
        assert xc.shape == x.shape
        np.testing.assert_allclose(yc.sum(1), 1.0, atol=1e-6)
        kept = (xc == x).float().mean(dim=(1, 2, 3))
        moved = kept < 1
        assert moved.any()  # a one-frame clip always gets its box (the time range is the frame)
        np.testing.assert_allclose(kept[moved], lam, atol=1e-6)
        pasted = (xc != x).any(1)[moved][0]  # the pasted region is one rectangle
        rows, cols = pasted.any(1).nonzero().flatten(), pasted.any(0).nonzero().flatten()
        assert pasted.sum() == len(rows) * len(cols)
    with pytest.raises(ValueError, match="images"):
        cutmix(torch.zeros(2, 3, 4), torch.tensor([0, 1]), 3)


# --------------------------------------------------------------------------- readers


@pytest.fixture(scope="module")
def tiny_mp4(tmp_path_factory):
    return encode(tmp_path_factory.mktemp("one") / "t.mp4", n=12, gop=4, codec="libx264" if _has_x264() else "mpeg4")


def _place(tiny, root, rels):
    for r in rels:
        p = root / r
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tiny, p)


def test_folder_reader_groups_and_leakage(tmp_path, tiny_mp4):
    rels = [f"{c}/{c}_p{p}_take{k}.mp4" for c in ("jump", "sit") for p in range(5) for k in range(2)]
    _place(tiny_mp4, tmp_path / "ds", rels)
    t = read_videos(tmp_path / "ds", group_regex=r"_(p\d)_")
    assert detect_format(tmp_path / "ds") == "folder" and t.format == "folder"
    assert t.class_names == ["jump", "sit"] and len(t) == 20
    t.check_leakage()
    assert set(t.splits) == {"train", "val", "test"}
    per_video = read_videos(tmp_path / "ds")
    assert len(set(per_video.groups)) == 20
    # split folders given by the user: a person in train and test is found
    _place(tiny_mp4, tmp_path / "sp", ["train/jump/a_p1.mp4", "test/jump/b_p1.mp4", "train/sit/c_p2.mp4",
                                       "test/sit/d_p3.mp4"])
    with pytest.raises(ValueError, match="'p1' is in splits"):
        read_videos(tmp_path / "sp", group_regex=r"_(p\d)")
    fixed = read_videos(tmp_path / "sp", group_regex=r"_(p\d)", fix_leakage=True)
    fixed.check_leakage()
    assert sorted(fixed.splits) == ["test", "train", "train", "train"]


def test_ucf101_reader_real_layout(tmp_path, tiny_mp4):
    root = tmp_path / "UCF101"
    classes = ["ApplyEyeMakeup", "Basketball"]
    train = [f"{c}/v_{c}_g{g:02d}_c0{k}.avi" for c in classes for g in range(8, 14) for k in (1, 2)]
    test = [f"{c}/v_{c}_g{g:02d}_c01.avi" for c in classes for g in range(1, 3)]
    _place(tiny_mp4, root / "UCF-101", train + test[:-1])  # the last test video is missing
    (root / "ucfTrainTestlist").mkdir()
    (root / "ucfTrainTestlist/classInd.txt").write_text("1 ApplyEyeMakeup\n2 Basketball\n")
    (root / "ucfTrainTestlist/trainlist01.txt").write_text(
        "".join(f"{r} {classes.index(r.split('/')[0]) + 1}\n" for r in train))
    (root / "ucfTrainTestlist/testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    t = read_videos(root, split=1)
    assert t.format == "ucf101" and t.class_names == classes
    assert t.skipped == [(str((root / "UCF-101" / test[-1]).resolve()), "missing file")]
    assert {"train", "val", "test"} == set(t.splits)
    t.check_leakage()  # val carved from train by whole gNN groups
    assert all(r.group.startswith("g") for r in t)
    # the same group in train and test is refused
    (root / "ucfTrainTestlist/testlist01.txt").write_text(f"{train[0]}\n")
    with pytest.raises(ValueError, match="'g08' is in splits"):
        read_videos(root)
    with pytest.raises(ValueError, match="split must be 1, 2 or 3"):
        read_videos(root, split=4)


def test_ucf101_reader_reads_synthetic_actions(tmp_path):
    pytest.importorskip("pybullet")
    from actkit.data.synth.actions import render_actions

    out = tmp_path / "actions"
    render_actions(out, clips_per_class=4, frames=8, size=32, workers=1, classes=("walk", "run"))
    t = read_videos(out)
    assert t.format == "ucf101" and t.class_names == ["Run", "Walk"] and len(t) == 8 and not t.skipped
    lists = {s: (out / f"{s}list01.txt").read_text().split("\n") for s in ("train", "val", "test")}
    for r in t:  # vallist01.txt used as is
        rel = "/".join(r.path.split("/")[-2:])
        assert any(ln.startswith(rel) for ln in lists[r.split])
    assert all("_g" in r.group for r in t)  # manifest's per-class scene groups, not bare gNN
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    sample = ClipDataset(t, cfg)[0]
    assert sample["input"].shape == (3, 4, 16, 16)


def test_hmdb51_reader(tmp_path, tiny_mp4):
    root = tmp_path / "hmdb"
    lines = {"brush_hair": [("April_09_brush_hair_u_nm_np1_ba_goo_0.avi", 1),
                            ("April_09_brush_hair_u_nm_np1_ba_goo_1.avi", 1),
                            ("Blonde_brush_hair_f_nm_np2_le_med_0.avi", 2),
                            ("Other_brush_hair_f_nm_np1_ri_goo_0.avi", 0),
                            ("Film3_brush_hair_u_nm_np1_fr_goo_0.avi", 1)],
             "cartwheel": [("Bodenturnen_cartwheel_f_cm_np1_le_med_0.avi", 1),
                           ("Gym_cartwheel_f_cm_np1_ri_med_0.avi", 2),
                           ("Park_cartwheel_f_cm_np1_fr_bad_0.avi", 1)]}
    (root / "splits").mkdir(parents=True)
    for cls, rows in lines.items():
        (root / "splits" / f"{cls}_test_split1.txt").write_text("".join(f"{v} {s}\n" for v, s in rows))
        _place(tiny_mp4, root, [f"{cls}/{v}" for v, _ in rows])
    t = read_videos(root)
    assert t.format == "hmdb51" and t.class_names == ["brush_hair", "cartwheel"]
    assert len(t) == 7  # the "0" (unused) line is left out
    films = {r.group for r in t if r.label == "brush_hair"}
    assert films == {"brush_hair/April_09", "brush_hair/Blonde", "brush_hair/Film3"}  # per film, within the class
    t.check_leakage()
    assert sorted(r.split for r in t if r.split == "test") == ["test", "test"]


def test_kinetics_reader(tmp_path, tiny_mp4):
    root = tmp_path / "k400"
    root.mkdir()
    (root / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "air drumming,abc123,10,20,train\n"
        "abseiling,def456,0,10,train\n"
        "abseiling,ghi789,5,15,validate\n"
        "abseiling,missing1,0,10,train\n")
    _place(tiny_mp4, root, ["train/air_drumming/abc123_000010_000020.mp4", "train/def456.mp4",
                            "val/abseiling/ghi789_000005_000015.mp4"])
    t = read_videos(root)
    assert t.format == "kinetics" and detect_format(root / "train.csv") == "kinetics"
    by_id = {r.group: r for r in t}
    assert set(by_id) == {"abc123", "def456", "ghi789"}
    assert by_id["abc123"].start_sec is None  # a trimmed clip: the whole file
    assert (by_id["def456"].start_sec, by_id["def456"].end_sec) == (0.0, 10.0)  # full video: segment in seconds
    assert by_id["ghi789"].split == "val"
    assert [s[1] for s in t.skipped] == ["missing file"]
    assert by_id["def456"].frame_range(500, 25.0) == (0, 250)


def test_diving48_reader(tmp_path, tiny_mp4):
    root = tmp_path / "Diving48"
    vocab = [["Back", "15som", "05Twis", "FREE"], ["Forward", "25som", "NoTwis", "PIKE"]]
    (root / "rgb").mkdir(parents=True)
    (root / "Diving48_vocab.json").write_text(json.dumps(vocab))
    train = [{"vid_name": f"vidA{k // 2}_{k:05d}", "label": k % 2, "start_frame": 0, "end_frame": 10}
             for k in range(12)]
    test = [{"vid_name": "vidT_00000", "label": 1, "start_frame": 2, "end_frame": 9}]
    (root / "Diving48_V2_train.json").write_text(json.dumps(train))
    (root / "Diving48_V2_test.json").write_text(json.dumps(test))
    _place(tiny_mp4, root / "rgb", [f"{r['vid_name']}.mp4" for r in train + test])
    t = read_videos(root)
    assert t.format == "diving48" and t.class_names == ["Back_15som_05Twis_FREE", "Forward_25som_NoTwis_PIKE"]
    rec = next(r for r in t if r.split == "test")
    assert rec.label_parts == ("Forward", "25som", "NoTwis", "PIKE") and (rec.start_frame, rec.end_frame) == (2, 9)
    assert rec.frame_range(12, 25.0) == (2, 9)
    assert "val" in set(t.splits)
    t.check_leakage()  # clips of one source video never straddle train/val


def test_csv_reader_and_errors(tmp_path, tiny_mp4):
    _place(tiny_mp4, tmp_path, ["v/a.mp4", "v/b.mp4", "v/c.mp4"])
    (tmp_path / "list.csv").write_text("path,label,start,end,group,split\n"
                                       "v/a.mp4,wave,0,6,s1,train\nv/b.mp4,clap,,,s2,test\nv/c.mp4,wave,2,8,s1,test\n")
    with pytest.raises(ValueError, match="'s1' is in splits"):
        read_videos(tmp_path / "list.csv")
    (tmp_path / "list.csv").write_text("path,label,start,end,group,split\n"
                                       "v/a.mp4,wave,0,6,s1,train\nv/b.mp4,clap,,,s2,test\nv/zz.mp4,wave,2,8,s3,val\n")
    t = read_videos({"path": tmp_path / "list.csv", "format": "csv"})
    assert len(t) == 2 and t.skipped[0][1] == "missing file"
    assert (t[0].start_frame, t[0].end_frame, t[1].start_frame) == (0, 6, None)
    with pytest.raises(ValueError, match="unknown video dataset format"):
        read_videos(tmp_path / "list.csv", format="nope")
    with pytest.raises(ValueError, match="does not exist"):
        read_videos(tmp_path / "nowhere")


# --------------------------------------------------------------------------- dataset and cache


@pytest.fixture()
def clip_table(tmp_path, videos):
    root = tmp_path / "clips"
    for c in ("a", "b"):
        for k in range(3):
            (root / c).mkdir(parents=True, exist_ok=True)
            shutil.copy(videos["mp4"], root / c / f"{c}{k}.mp4")
    t = read_videos(root, fractions={"train": 1.0})
    return t


def test_clip_dataset_samples_and_determinism(clip_table):
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    ds = ClipDataset(clip_table, cfg, "random_window", ClipTransform(cfg, ClipAugment()), seed=1, clips_per_video=2)
    assert len(ds) == 12 and ds.random
    s = ds[5]
    assert set(s) == {"input", "label", "index", "video"}
    assert s["input"].dtype == torch.float32 and s["input"].shape == (3, 4, 16, 16)
    assert (s["index"], s["video"], s["label"]) == (5, 2, clip_table[2].class_id)
    np.testing.assert_array_equal(ds[5]["input"], s["input"])  # same (seed, epoch, index): same clip
    ds.set_epoch(1)
    assert not torch.equal(ds[5]["input"], s["input"])
    import pickle  # spawn-started workers get a pickled copy

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ds))[5]["input"], ds[5]["input"])
    # any worker count gives the same batches
    loaded = [torch.utils.data.DataLoader(ds, batch_size=4, num_workers=w) for w in (0, 2)]
    for b0, b2 in zip(*loaded):
        assert torch.equal(b0["input"], b2["input"]) and torch.equal(b0["video"], b2["video"])
    ev = ClipDataset(clip_table, cfg, "dense", clips_per_video=3)
    assert not ev.random and torch.equal(ev[4]["input"], ev[4]["input"])
    assert [ev[i]["video"] for i in range(6)] == [0, 0, 0, 1, 1, 1]
    ids, mean = average_clips(torch.tensor([[1.0, 0], [0, 1], [0.5, 0.5], [1, 0]]), torch.tensor([0, 0, 0, 2]))
    assert ids.tolist() == [0, 2] and np.allclose(mean, [[0.5, 0.5], [1, 0]])


def test_clip_dataset_flip_views(clip_table):
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    ev = ClipDataset(clip_table, cfg, "dense", clips_per_video=2)
    fl = ClipDataset(clip_table, cfg, "dense", clips_per_video=2, flip_views=True)
    assert len(fl) == 2 * len(ev) and fl.labels.tolist() == np.repeat(ev.table.class_ids, 4).tolist()
    assert [fl[i]["video"] for i in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]
    # a video's samples: its clips, then the same clips mirrored left-right
    for k in range(2):
        assert torch.equal(fl[4 + k]["input"], ev[2 + k]["input"])
        assert torch.equal(fl[6 + k]["input"], ev[2 + k]["input"].flip(-1))
    assert not torch.equal(fl[6]["input"], fl[4]["input"])
    with pytest.raises(ValueError, match="flip_views is for evaluation"):
        ClipDataset(clip_table, cfg, "random_window", ClipTransform(cfg, ClipAugment()), flip_views=True)


def test_clip_dataset_respects_segments(tmp_path, videos):
    (tmp_path / "x").mkdir()
    shutil.copy(videos["mp4"], tmp_path / "x" / "v.mp4")
    (tmp_path / "l.csv").write_text("path,label,start,end,group,split\nx/v.mp4,a,20,24,g,train\n")
    t = read_videos(tmp_path / "l.csv")
    cfg = DataConfig(input_size=(48, 64), num_frames=4)
    ds = ClipDataset(t, cfg, "uniform", ClipTransform(cfg, crop_ratio=1.0))
    np.testing.assert_array_equal(ds.load_clip(0), _full_decode(videos["mp4"])[20:24])


def test_corrupt_video_is_skipped_and_reported(clip_table, tmp_path):
    bad = clip_table[1].path
    with open(bad, "wb") as f:
        f.write(b"\x00" * 1000)
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    ds = ClipDataset(clip_table, cfg, skip_log=tmp_path / "skips.jsonl")
    s = ds[1]  # replaced by the next readable video
    assert s["video"] == 2 and s["index"] == 1
    assert [p for p, _ in ds.skipped] == [bad] and bad in ds.skipped[0][1]
    # in DataLoader workers too: the skip log carries the report back
    ds2 = ClipDataset(clip_table, cfg, skip_log=tmp_path / "skips2.jsonl")
    batches = list(torch.utils.data.DataLoader(ds2, batch_size=3, num_workers=2))
    assert sum(len(b["index"]) for b in batches) == 6
    assert [p for p, _ in ds2.skipped] == [bad]
    # validate() drops it up front
    ds3 = ClipDataset(clip_table, cfg, skip_log=tmp_path / "skips3.jsonl")
    dropped = ds3.validate(progress=False)
    assert [p for p, _ in dropped] == [bad] and len(ds3) == 5 and [p for p, _ in ds3.skipped] == [bad]


def test_frame_cache_round_trip(tmp_path, clip_table):
    cache = FrameCache(tmp_path / "cache", short_side=24)
    path = clip_table[0].path
    first = cache.load(path)
    assert first.shape == (40, 24, 32, 3) and first.dtype == np.uint8
    entries = list((tmp_path / "cache").rglob("*"))
    assert [e.suffix for e in entries if e.is_file()] == [".npy"]  # no temporary files left
    again = cache.get(path)
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, first)
    k = cache.key(path)
    os.utime(path, ns=(1, 1))
    assert cache.key(path) != k and cache.get(path) is None  # a changed file is decoded again
    assert FrameCache(tmp_path / "cache", None).key(path) != cache.key(path)
    # a dataset reads the same clips from a full-size cache as from the decoder
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    plain = ClipDataset(clip_table, cfg)
    cached = ClipDataset(clip_table, cfg, cache=FrameCache(tmp_path / "c2", short_side=None))
    assert torch.equal(plain[3]["input"], cached[3]["input"])


def test_frame_cache_never_enlarges(tmp_path, clip_table):
    """A video smaller than the cache's short side is kept as decoded, so training on the cache sees
    the pixels that evaluation and prediction read from the file (an enlarged copy is softer)."""
    path = clip_table[0].path
    native = FrameCache(tmp_path / "none", None).load(path)
    big = FrameCache(tmp_path / "big", short_side=4 * min(native.shape[1:3]))
    np.testing.assert_array_equal(big.load(path), native)
    assert resized_shape(24, 32, 200) == (24, 32) and resized_shape(240, 320, 120) == (120, 160)
    cfg = DataConfig(input_size=(16, 16), num_frames=4)
    plain = ClipDataset(clip_table, cfg)
    cached = ClipDataset(clip_table, cfg, cache=big)
    for i in (0, 3):
        assert torch.equal(plain[i]["input"], cached[i]["input"])


def test_clip_transform_aspect_jitter_squeezes_and_stretches():
    cfg = DataConfig(input_size=(32, 32), num_frames=2, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    t = ClipTransform(cfg, ClipAugment(scale=(1.0, 1.0), hflip=False, colour_jitter=0, aspect=0.5))
    ratios = []
    for s in range(200):
        x0, y0, x1, y1 = t.draw(32, 32, np.random.default_rng(s)).box
        assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32
        ratios.append((x1 - x0) / (y1 - y0))  # > 1: content squeezed, < 1: stretched
    ratios = np.array(ratios)
    assert ratios.min() < 0.75 and ratios.max() > 1.35 and ratios.min() >= 1 / 1.5 - 0.05 and ratios.max() <= 1.5 + 0.1
    assert 0.3 < np.mean(ratios > 1) < 0.7  # log-uniform: as often squeezed as stretched
    # a centred square comes out narrower than tall in a squeezed clip, wider in a stretched one
    clip = np.zeros((2, 32, 32, 3), np.uint8)
    clip[:, 12:20, 12:20] = 255

    def width_over_height(draw_seed):
        lit = t.apply(clip, t.draw(32, 32, np.random.default_rng(draw_seed)))[0, 0] > 0
        return lit.any(0).sum() / lit.any(1).sum()

    assert width_over_height(next(s for s in range(200) if ratios[s] > 1.3)) < 0.85
    assert width_over_height(next(s for s in range(200) if ratios[s] < 0.77)) > 1.15
    plain = ClipTransform(cfg, ClipAugment(scale=(1.0, 1.0), hflip=False, colour_jitter=0))
    assert {plain.draw(32, 32, np.random.default_rng(s)).box for s in range(20)} == {(0, 0, 32, 32)}
    assert ClipTransform(cfg).draw(32, 32).box == (2, 2, 30, 30)  # evaluation: the centre crop, no jitter
    with pytest.raises(ValueError, match="aspect"):
        ClipTransform(cfg, ClipAugment(aspect=2.0))
