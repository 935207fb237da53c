"""`actkit custom`: your own classifier from a few videos per class (init, train, eval, export, info)."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import names, verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..custom.train import CustomConfig

    sp = verb(sub, "custom", lambda a: a.sub_fn(a), "custom classifiers from a few videos per class: a project "
              "folder (the sense studio's layout), a head trained on a frozen extractor, a model actkit stream runs")
    csub = sp.add_subparsers(dest="custom_verb", metavar="STEP", required=True)
    d = CustomConfig()

    p = csub.add_parser("init", help="make a project folder with its classes (and a background class)")
    p.add_argument("dir")
    p.add_argument("--classes", required=True, help="comma-separated class names")
    p.add_argument("--no-background", action="store_true",
                   help="no background class (a live model then has no answer for 'none of these')")
    p.add_argument("--temporal", action="store_true", help="train on per-frame tags (tags_<split>/)")
    p.add_argument("--tags", action="append", default=[], metavar="CLASS:TAG,TAG",
                   help="a class's tags in temporal mode (default: one tag named after the class)")
    p.set_defaults(sub_fn=run_init)

    p = csub.add_parser("example", help="a project of rendered videos (motion-capture clips; validation videos from "
                        "held-out cameras): to try the studio or benchmark an extractor without a camera")
    p.add_argument("dir")
    p.add_argument("--classes", required=True, help="clip names, e.g. jump,kick,punch,spin,walk")
    p.add_argument("--background", help="clip names whose videos form a background class")
    p.add_argument("--train", type=int, default=5, help="training videos per class")
    p.add_argument("--valid", type=int, default=3, help="validation videos per class")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(sub_fn=run_example)

    p = csub.add_parser("train", help="cache features, train the head, write checkpoints/NAME/ (model.pt, model.onnx)")
    p.add_argument("dir")
    p.add_argument("--extractor", default=d.extractor, help="shipped extractor (actkit custom info) or a streaming "
                   ".pt checkpoint (skeleton or pixel)")
    p.add_argument("--finetune", type=int, default=d.finetune, help="top layers of the extractor trained too (0: head)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-videos", type=int, default=d.batch_videos)
    p.add_argument("--flip", action="store_true", help="mirrored copies of the training videos as extra samples "
                   "(only when every class means the same mirrored: not for swipe left / right)")
    p.add_argument("--no-balance", action="store_true", help="no class weights")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--temporal", dest="temporal", action="store_true", default=None)
    mode.add_argument("--per-video", dest="temporal", action="store_false")
    p.add_argument("--name", default=d.name, help="checkpoint folder under DIR/checkpoints/")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoints/NAME")
    p.add_argument("--no-export", action="store_true", help="no model.onnx")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.set_defaults(sub_fn=run_train)

    p = csub.add_parser("eval", help="a trained classifier on the project's videos: accuracy, confusion, per video")
    p.add_argument("dir")
    p.add_argument("--name", default=d.name)
    p.add_argument("--split", default="valid", choices=("train", "valid"))
    p.add_argument("--json", action="store_true", help="the whole report as JSON")
    p.set_defaults(sub_fn=run_eval)

    p = csub.add_parser("export", help="checkpoints/NAME/model.pt as a stateful ONNX (model.onnx)")
    p.add_argument("dir")
    p.add_argument("--name", default=d.name)
    p.set_defaults(sub_fn=run_export)

    p = csub.add_parser("bench", help="few-shot accuracy (2, 3, 5 videos per class; with and without background), "
                        "head training time, feature speed, false events on idle video")
    p.add_argument("dir")
    p.add_argument("--extractor", default=d.extractor)
    p.add_argument("--videos", default="2,3,5", help="training videos per class to try")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--streams", help="actkit synth streams folder: events per minute of its idle frames")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--out", help="write the report as JSON here")
    p.set_defaults(sub_fn=run_bench)

    p = csub.add_parser("info", help="a project's classes, tags and videos; with no DIR, the shipped extractors")
    p.add_argument("dir", nargs="?")
    p.set_defaults(sub_fn=run_info)
    return sp


def run_init(a: argparse.Namespace) -> Any:
    from ..custom.project import init_project

    tags = {}
    for spec in a.tags:
        cls, _, ts = spec.partition(":")
        tags[cls] = list(names(ts) or ())
    p = init_project(a.dir, list(names(a.classes) or ()), background=not a.no_background, temporal=a.temporal,
                     tags=tags)
    print(f"{p.root}: classes {', '.join(p.classes)}; put videos in {p.root}/videos_train/<class>/ and "
          f"videos_valid/<class>/, then: actkit custom train {p.root}")
    return p


def run_example(a: argparse.Namespace) -> Any:
    from ..custom.examples import rendered_project

    p = rendered_project(a.dir, list(names(a.classes) or ()), a.train, a.valid, a.frames, a.size, a.seed,
                         list(names(a.background) or ()), workers=a.workers)
    counts = {s: len(p.videos(s)) for s in ("train", "valid")}
    print(f"{p.root}: classes {', '.join(p.classes)}; {counts['train']} training and {counts['valid']} validation videos")
    return p


def run_train(a: argparse.Namespace) -> Any:
    from ..custom.train import CustomConfig, train_custom
    from ..utils.progress import progress

    cfg = CustomConfig(extractor=a.extractor, finetune=a.finetune, epochs=a.epochs, lr=a.lr,
                       batch_videos=a.batch_videos, flip=a.flip, balance=not a.no_balance,
                       temporal=a.temporal, name=a.name, overwrite=a.overwrite, export=not a.no_export, seed=a.seed,
                       threads=a.threads)
    bars: dict[str, Any] = {}

    def report(e: dict) -> None:
        key = e["stage"] + e.get("split", "")
        if e["stage"] in ("features", "train"):
            total = e.get("total") or e.get("epochs")
            if key not in bars:
                bars[key] = progress(total=total, desc=f"{e['stage']} {e.get('split', '')}".strip(),
                                     unit="video" if e["stage"] == "features" else "epoch")
            bars[key].update(1)
    try:
        r = train_custom(a.dir, cfg, report)
    finally:
        for b in bars.values():
            b.close()
    best = r["best"]
    print(f"{r['out']}: {len(r['labels'])} labels, {r['videos']['train']} training videos; {r['judged_on']} "
          f"accuracy {best['accuracy']:.3f} (frames {best['frame_accuracy']:.3f}); features "
          f"{r['seconds']['features']:.1f} s, head {r['seconds']['train']:.1f} s"
          + (f"; {len(r['skipped'])} videos skipped (report.json)" if r["skipped"] else ""))
    return r


def run_eval(a: argparse.Namespace) -> Any:
    from ..custom.train import evaluate_custom

    r = evaluate_custom(a.dir, a.name, a.split)
    if a.json:
        print(json.dumps(r, indent=2, default=str))
        return r
    for row in r["videos"]:
        print(f"{row['video']:<48} {row['label']:<16} -> {row['predicted'] or '-':<16} "
              f"{row['confidence']:.2f} frames right {row['frame_accuracy']:.2f}")
    print(f"{a.split}: accuracy {r['accuracy']:.3f}, frame accuracy {r['frame_accuracy']:.3f} over "
          f"{len(r['videos'])} videos" + (f"; {len(r['skipped'])} skipped" if r["skipped"] else ""))
    return r


def run_export(a: argparse.Namespace) -> Any:
    from ..custom.project import load_project
    from ..custom.train import export_custom

    r = export_custom(load_project(a.dir).checkpoint_dir(a.name))
    print(f"{r['path']}: stateful ONNX, torch-vs-ONNX max |diff| {r['parity_max_abs']:.2e}")
    return r


def run_bench(a: argparse.Namespace) -> Any:
    from ..custom.bench import bench_custom
    from ..utils.io import atomic_write_json

    r = bench_custom(a.dir, a.extractor, [int(v) for v in names(a.videos) or ()], a.epochs, a.streams, a.seed,
                     a.threads)
    sp = r["extractor_speed"]
    print(f"{a.extractor} ({r['extractor']['kind']}): features cached in {r['caching_seconds']:.1f} s; extractor "
          f"alone {sp['frames_per_s_per_core']:.0f} frames/s per core ({sp['given']} given)")
    for row in r["results"]:
        idle = f"  false events {row['false_events_per_min']:.2f}/idle min" if "false_events_per_min" in row else ""
        print(f"{'with' if row['background'] else 'without'} background, {row['videos_per_class']} videos/class: "
              f"accuracy {row['accuracy']:.3f} ({row['valid_videos']} videos), head {row['head_seconds']:.1f} s{idle}")
    if a.out:
        atomic_write_json(a.out, r)
    return r


def run_info(a: argparse.Namespace) -> Any:
    if a.dir is None:
        from ..custom.features import extractors

        for name, what in extractors().items():
            print(f"{name:<12} {what}")
        print("or any streaming checkpoint (.pt) of actkit train --task stream / --task skeleton")
        return None
    from ..custom.project import load_project

    s = load_project(a.dir).summary()
    print(json.dumps(s, indent=2))
    return s
