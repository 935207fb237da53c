"""Time actkit's clip transform against the float pipeline it replaced, side by side in one process.

The float pipeline (kept here as the reference) resized each frame into float32 and ran the /255,
colour jitter and mean/std steps on floats; ``ClipTransform`` keeps uint8 until one lookup table
per channel. Both get the same clips and draws, interleaved round by round, so a busy host slows
both alike; the ratio is the number to read.

Usage: .venv/bin/python benchmarks/clip_transform.py [--frames 32] [--size 80] [--source 104] [--rounds 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from actkit.data.transforms import colour_jitter, convert_colour
from actkit.data.video.transforms import ClipAugment, ClipParams, ClipTransform
from actkit.models._base import DataConfig


class FloatClipTransform(ClipTransform):
    """The float pipeline ``ClipTransform.apply`` used before (same draws, same results to 1 grey level)."""

    def apply(self, frames: np.ndarray, params: ClipParams) -> np.ndarray:
        import cv2

        th, tw = self.data_cfg.input_size
        x0, y0, x1, y1 = params.box
        out = np.empty((len(frames), th, tw, 3), np.float32)
        for k, f in enumerate(frames):
            crop = np.ascontiguousarray(f[y0:y1, x0:x1])
            interp = cv2.INTER_AREA if crop.shape[0] > th or crop.shape[1] > tw else cv2.INTER_LINEAR
            out[k] = cv2.resize(crop, (tw, th), interpolation=interp)
            if params.blur_sigma > 0:
                cv2.GaussianBlur(out[k], (0, 0), params.blur_sigma, dst=out[k])
        out *= np.float32(1.0 / 255.0)
        if params.flip:
            out = out[:, :, ::-1]
        if params.jitter_seed is not None:
            out = colour_jitter(out, np.random.default_rng(params.jitter_seed), self.aug.colour_jitter)
        cfg = self.data_cfg
        if cfg.colour != "rgb":
            out = np.stack([convert_colour(np.ascontiguousarray(f), cfg.colour) for f in out])
        out -= np.asarray(cfg.mean, np.float32)
        out *= 1.0 / np.asarray(cfg.std, np.float32)
        return np.ascontiguousarray(out.transpose(3, 0, 1, 2), dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=80, help="model input side")
    ap.add_argument("--source", type=int, default=104, help="side of the cached source frames")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clips", type=int, default=30, help="clips per transform per round")
    a = ap.parse_args()
    cfg = DataConfig(input_size=(a.size, a.size), num_frames=a.frames, mean=(0.43, 0.39, 0.37), std=(0.23, 0.22, 0.22))
    frames = (np.random.default_rng(0).random((a.frames, a.source, a.source, 3)) * 255).astype(np.uint8)
    print(f"{a.frames} frames {a.source}px -> {a.size}px, {a.clips} clips per transform per round, interleaved")
    for label, aug in (("training (crop, flip, colour jitter 0.4)", ClipAugment(colour_jitter=0.4)), ("evaluation", None)):
        old, new = FloatClipTransform(cfg, aug), ClipTransform(cfg, aug)
        diff = max(float(np.abs(old(frames, np.random.default_rng(s)) - new(frames, np.random.default_rng(s))).max())
                   for s in range(5))
        times: dict[str, list[float]] = {"float": [], "uint8": []}
        for _ in range(a.rounds):
            for name, t in (("float", old), ("uint8", new)):
                t0 = time.perf_counter()
                for i in range(a.clips):
                    t(frames, np.random.default_rng(i) if aug else None)
                times[name].append((time.perf_counter() - t0) / a.clips * 1000)
        f, u = np.median(times["float"]), np.median(times["uint8"])
        print(f"{label}: float {f:.2f} ms/clip, uint8 {u:.2f} ms/clip, ratio {f / u:.2f} "
              f"(per-round ratios {', '.join(f'{x / y:.2f}' for x, y in zip(times['float'], times['uint8']))}); "
              f"max |difference| {diff:.4f} (one grey level = {1 / 255 / min(cfg.std):.4f})")


if __name__ == "__main__":
    main()
