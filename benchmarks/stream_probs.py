"""Dump a streaming model's per-frame label probabilities on a streams split, for studying post-processing.

Usage: .venv/bin/python benchmarks/stream_probs.py CHECKPOINT STREAMS_DIR SPLIT OUT.npz

Writes, per video, ``<name>/probs`` (T, L) label probabilities of the raw causal outputs (unsmoothed),
``<name>/truth`` (T,) true label ids, and ``labels`` (the L label names). The same numbers
``actkit evaluate`` computes (forward_frames over the whole video, equal to stepping frame by frame).
"""
import sys

import numpy as np

from actkit.engine import stream_eval as SE


def main(ckpt: str, root: str, split: str, out: str) -> None:
    runner = SE._runner(ckpt, "cpu")
    cls = SE._Classes.of(runner.class_names, ckpt)
    _, videos = SE.read_stream_set(root, split)
    arrays = {"labels": np.array(cls.labels)}
    for v in videos:
        frames = [f for f, _ in zip(SE._frames(v.path), range(v.frames))]
        stream, _, _ = SE._whole_video_probs(runner, frames, v.people[0].segments, False)
        arrays[f"{v.name}/probs"] = (stream @ cls.to_label).astype(np.float32)
        arrays[f"{v.name}/truth"] = np.array([cls.labels.index(x) for x in v.people[0].labels], np.int16)
        print(v.name, len(frames), flush=True)
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:5])
