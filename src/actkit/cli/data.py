"""`actkit data`: build and fix crop datasets; fetch the sample photos and video of real people."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import names


def add_parser(sub: Any) -> None:
    dp = sub.add_parser("data", help="build and fix crop datasets; fetch sample photos of real people").add_subparsers(dest="data_verb", metavar="DATA_VERB", required=True)
    sp = dp.add_parser("crops", help="build a Parquet crop dataset from a class-folder tree or a CSV (path,label[,group])")
    sp.set_defaults(fn=run_crops)
    sp.add_argument("source", help="folder <root>/<class>/... or CSV")
    sp.add_argument("--out", required=True, help="output .parquet")
    sp.add_argument("--classes", help="comma-separated allowed classes (others are skipped and listed)")
    sp.add_argument("--no-plots", action="store_true", help="skip the class-ratio and size PNGs")
    sp.add_argument("--min-size", type=int, default=8, help="skip (and list) images with a side under this many "
                    "pixels (0: keep every size)")
    for s in (sp, dp.add_parser("resplit", help="re-split a Parquet (e.g. a leaky random split) by groups")):
        if s is not sp:
            s.set_defaults(fn=run_resplit)
            s.add_argument("input", help="input .parquet")
            s.add_argument("--out", required=True, help="output .parquet")
        s.add_argument("--val", type=float, default=0.1, help="validation fraction")
        s.add_argument("--test", type=float, default=0.1, help="test fraction")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--group-regex", help="regex on the path whose first group names the group (video, person, face)")
    fp = dp.add_parser("fetch", help="fetch the sample photos and video of real people from Debian's opencv-doc")
    fp.set_defaults(fn=run_fetch)
    fp.add_argument("what", choices=["opencv-samples"])
    fp.add_argument("--from", dest="source", help="opencv-doc_4.6.0+dfsg-12_all.deb, or the unpacked "
                    "/usr/share/doc/opencv-doc (default: download the .deb from deb.debian.org)")
    fp.add_argument("--force", action="store_true", help="fetch again even if cached")


def run_crops(a: argparse.Namespace) -> Any:
    from ..data.crops_build import build_crops

    classes = names(a.classes)
    s = build_crops(a.source, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex,
                    classes=list(classes) if classes else None, plots=not a.no_plots,
                    min_size=a.min_size)
    print(f"{a.out}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in s["counts"].items()) + f"; skipped {s['n_skipped']}")
    return s


def run_resplit(a: argparse.Namespace) -> Any:
    from ..data.crops_build import resplit

    s = resplit(a.input, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex)
    print(f"{a.out}: regrouped; {s.get('straddling_before', 0)} groups straddled splits before")
    return s


def run_fetch(a: argparse.Namespace) -> Any:
    from ..perception.samples import fetch_samples, samples_dir

    got = fetch_samples(a.source, a.force)
    if not a.quiet:
        print(f"{len(got)} sample files verified in {samples_dir()}")
    return got
