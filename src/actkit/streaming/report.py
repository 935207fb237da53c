"""The stream evaluation's plots (timelines, confusion) and its printed table."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data.video.framelabels import Video
from ..data.vocab import VOCABULARY
from .replay import StreamClasses, VideoResult

TIMELINE_VIDEOS = 3  # timelines plotted per evaluation

log = logging.getLogger(__name__)
# --------------------------------------------------------------------------- plots and table

def write_plots(out: Path, videos: list[Video], results: list[VideoResult], cls: StreamClasses, acc: dict[str, Any]) -> list[str]:
    from ..engine.metrics import confusion_matrix
    from ..engine.plots import plot_confusion

    paths = [str(_plot_timeline(out / f"timeline_{v.name}.png", v, r))
             for v, r in list(zip(videos, results))[:TIMELINE_VIDEOS]]
    truth = [x for r in results for x in r.truth]
    pred = [x for r in results for x in r.stream]
    names = [n for n in VOCABULARY if n in set(truth) | set(pred)]
    idx = {n: i for i, n in enumerate(names)}
    cm = confusion_matrix(np.array([idx[x] for x in truth]), np.array([idx[x] for x in pred]), len(names))
    title = f"streaming labels per frame (accuracy {acc['streaming']:.1%})"
    paths.append(str(plot_confusion(cm, names, out / "confusion_streaming.png", title=title)))
    return paths


def _plot_timeline(path: Path, v: Video, r: VideoResult) -> Path:
    import matplotlib
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..engine.plots import new_figure, save_figure

    colours = [*matplotlib.colormaps["tab20"].colors, *matplotlib.colormaps["tab20b"].colors][:len(VOCABULARY)]
    rows = [("truth", r.truth), ("streaming", r.stream), ("raw", r.raw)]
    rows += [("offline", r.offline)] if r.offline else []
    fig, axes = new_figure((11, 0.55 * len(rows) + 1.6), nrows=len(rows), sharex=True)
    secs = v.frames / v.fps
    for ax, (name, labels) in zip(axes, rows):
        ax.imshow(np.array([[VOCABULARY.index(x) for x in labels]]), aspect="auto", cmap=ListedColormap(colours),
                  vmin=-0.5, vmax=len(VOCABULARY) - 0.5, extent=(0, secs, 0, 1), interpolation="nearest")
        ax.set_yticks([0.5], labels=[name])
    for rep in r.reps:  # true / predicted count over each counted span
        axes[0].text((rep["start"] + rep["end"] + 1) / 2 / v.fps, 0.5, f"{rep['true']} / {rep['pred']} reps",
                     ha="center", va="center", fontsize=7, color="black")
    axes[-1].set_xlabel("seconds")
    present = [n for n in VOCABULARY if n in set(r.truth) | set(r.stream) | set(r.offline) | set(r.raw)]
    fig.legend(handles=[Patch(color=colours[VOCABULARY.index(n)], label=n) for n in present],
               loc="outside lower center", ncol=min(len(present), 7), fontsize=7)
    axes[0].set_title(f"{v.name}: truth vs streaming (smoothed), raw and offline labels" +
                      (" (rep counts: true / predicted)" if r.reps else ""))
    return save_figure(fig, path)


def format_stream_report(report: dict[str, Any]) -> str:
    """A short table of an :func:`evaluate_streams` report."""
    def f(v: Any, fmt: str = ".3f") -> str:
        return "n/a" if v is None else format(v, fmt)

    lines = [f"{report['layout']} {report['data']} ({report['split']}): {report['videos']} videos, "
             f"{report['frames']} frames, {len(report['skipped'])} skipped"]
    a = report.get("frame_accuracy")
    if a:
        lines.append(f"{'frame accuracy':<24}{'streaming':>10}{'raw':>8}{'offline':>9}{'gap (pts)':>11}")
        for tag, suffix in (("all frames", ""), ("without transition", "_no_transition")):
            lines.append(f"  {tag:<22}{f(a['streaming' + suffix]):>10}{f(a['streaming_raw' + suffix]):>8}"
                         f"{f(a.get('offline' + suffix)):>9}{f(a.get('gap_points' + suffix), '+.1f'):>11}")
        if "offline_windows" in a:
            o = report["options"]
            lines.append(f"  offline windows of {o['offline_window']} frames every {o['offline_hop']} (told no segment "
                         f"bounds): {f(a['offline_windows'])}, gap {f(a['gap_points_windows'], '+.1f')} pts "
                         f"({f(a['gap_points_windows_no_transition'], '+.1f')} without transition)")
        e = report["events"]
        lines.append(f"{'events':<24}F1 {f(e['f1'])} (P {f(e['precision'])}, R {f(e['recall'])}); onset delay median "
                     f"{f(e['onset_delay_frames_median'], '.1f')} frames ({f(e['onset_delay_ms_median'], '.0f')} ms), "
                     f"mean {f(e['onset_delay_frames_mean'], '.1f')}" +
                     (f"; lag {e['event_lag']}: starts known {f(e['onset_known_frames_median'], '.1f')} frames "
                      "after the true start (median)" if e.get("event_lag") else ""))
        t = report.get("event_tuning")
        if t:
            b = t["best"]
            lines.append(f"{'event rule tuned here':<24}F1 {f(b['f1'])} (P {f(b['precision'])}, R {f(b['recall'])}) of "
                         f"{t['rules']} rules, with: {t['flags']}")
        r = report["reps"]
        lines.append(f"{'repetitions':<24}" + (r["skipped"] if "skipped" in r else
                     f"MAE {f(r['mae'], '.2f')} over {r['sets']} sets, exact {f(r['exact'], '.0%')}"))
    m = report.get("multi_person")
    if m:
        lines.append(f"{'multi-person':<24}id switches {m['id_switches_per_100_frames']:.2f} / 100 frames, "
                     f"track accuracy {f(m['track_accuracy'])} (coverage {f(m['coverage'])})")
    if report["skipped"]:
        lines.append("skipped: " + ", ".join(s["path"] for s in report["skipped"][:5]))
    if report.get("out"):
        lines.append(f"-> {report['out']}/stream_eval.json")
    return "\n".join(lines)
