"""Sparse vs whole-file decode benchmark on a generated long video.

``python -m actkit.bench.decode --out runs/decode --gops 30,60,120,0`` writes one 60 s
640x360 30 fps H.264 video per keyframe interval (``0`` = the encoder's default GOP, x264:
keyint 250 with scene cuts) and prints :func:`actkit.data.video.decode.bench_decode` for each
as a Markdown table. The video pans over a smooth textured scene with moving shapes and light
noise: typical bit rate, not a worst case of pure noise (whose huge keyframes make seeking look
worse) nor a static frame (which makes everything look fast).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..data.video.decode import bench_decode
from ..utils.deps import require
from ..utils.io import atomic_write_json


def write_bench_video(path: str | Path, seconds: float = 60.0, size: tuple[int, int] = (360, 640), fps: int = 30,
                      gop: int = 60, seed: int = 0) -> Path:
    """Encode a synthetic H.264 video (libx264, crf 23, preset veryfast, B-frames on).

    Args:
        path: output ``.mp4``.
        seconds: duration.
        size: ``(height, width)``.
        fps: frame rate.
        gop: frames between keyframes (fixed); 0 keeps the encoder's default.
        seed: texture seed.

    Returns:
        The path written.
    """
    require("av")
    import cv2

    from ..data.video.writer import write_video

    h, w = size
    n = int(round(seconds * fps))
    rng = np.random.default_rng(seed)
    small = (rng.random(((h + 128) // 16, (w + 128) // 16, 3)) * 255).astype(np.uint8)
    tex = cv2.GaussianBlur(cv2.resize(small, (w + 128, h + 128), interpolation=cv2.INTER_CUBIC), (0, 0), 3)
    opts = {"crf": "23", "preset": "veryfast"}
    if gop > 0:
        opts.update({"g": str(gop), "keyint_min": str(gop)})
    def frames():
        for i in range(n):
            dx, dy = int(60 + 60 * np.sin(i / 90)), int(60 + 60 * np.cos(i / 120))
            img = tex[dy:dy + h, dx:dx + w].copy()
            for k in range(3):
                cx = int(w / 2 + (150 + 40 * k) * np.sin(i / (30 + 7 * k)))
                cy = int(h / 2 + 100 * np.cos(i / (23 + 5 * k)))
                cv2.circle(img, (cx, cy), 30 + 10 * k, (int(i * 7 % 256), 200 - 50 * k, 50 + 60 * k), -1)
            yield cv2.add(img, (rng.random((h, w, 3)) * 6).astype(np.uint8))

    write_video(path, frames(), fps, "h264-pyav", x264=opts)
    return Path(path)


def run_decode_bench(out: str | Path = "runs/decode_bench", gops: tuple[int, ...] = (30, 60, 120, 0),
                     seconds: float = 60.0, frames: int = 16, repeats: int = 5) -> list[dict]:
    """Sparse vs whole decoding of generated videos (kept: reused on a re-run); prints a Markdown table.

    Args:
        out: folder for the generated videos and ``results.json``.
        gops: keyframe intervals in frames (0: the encoder's default).
        seconds: video length.
        frames: frames sampled per clip.
        repeats: interleaved repetitions (medians are reported).
    """
    out = Path(out)
    rows = []
    print("| GOP (frames) | video | sparse ms | whole ms | ratio | sparse, B-frame skip off ms | identical |")
    print("|---|---|---|---|---|---|---|")
    for gop in gops:
        path = out / f"bench_{int(seconds)}s_gop{gop or 'default'}.mp4"
        if not path.is_file():
            write_bench_video(path, seconds, gop=gop)
        r = bench_decode(path, frames=frames, repeats=repeats)
        r["gop"] = gop or "default"
        rows.append(r)
        print(f"| {r['gop']} | {r['num_frames']} frames {r['size'][1]}x{r['size'][0]} | {r['sparse_ms']} | "
              f"{r['whole_ms']} | **{r['ratio']}x** | {r['sparse_nonref_off_ms']} | {r['identical']} |", flush=True)
    atomic_write_json(out / "results.json", rows)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    """``python -m actkit.bench.decode`` (same as ``actkit bench --decode``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/decode_bench", help="folder for the generated videos")
    ap.add_argument("--gops", default="30,60,120,0", help="keyframe intervals in frames (0: encoder default)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--frames", type=int, default=16, help="frames sampled per clip")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    return run_decode_bench(a.out, tuple(int(g) for g in a.gops.split(",")), a.seconds, a.frames, a.repeats)


if __name__ == "__main__":
    main()
