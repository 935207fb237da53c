"""The rendered frames the perception parity test and its reference share: 3 clips x 17 frames at 256 px."""
import warnings
from pathlib import Path

import numpy as np

CLASSES = ("walk", "run", "punch")


def rendered_frames(out: Path) -> list[np.ndarray]:
    """51 RGB frames of rendered people (walk, run, punch), decoded from the clips the renderer writes."""
    from actkit.data.synth.actions import render_actions
    from actkit.data.video.sources import read_video

    with warnings.catch_warnings():  # one clip per class leaves splits without some classes: expected here
        warnings.simplefilter("ignore")
        render_actions(out, clips_per_class=1, frames=17, size=256, workers=1, classes=list(CLASSES),
                       progress=False)
    frames = []
    for name in CLASSES:
        frames.extend(read_video(next(out.rglob(f"v_{name.title()}_*.mp4"))))
    return frames
