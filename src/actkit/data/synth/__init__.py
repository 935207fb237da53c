"""Synthetic data rendered from the pybullet humanoid (motion capture and procedural poses).

* :mod:`.mocap`: pybullet's 15 motion-capture clips as poses (pure numpy).
* :mod:`.render`: :class:`~.render.HumanoidRenderer`, one headless pybullet scene per process.
* :mod:`.postures`: :func:`~.postures.render_postures`, the standing / sitting / lying crop set.
* :mod:`.actions`: :func:`~.actions.render_actions`, the 15 clips as action videos in UCF-101 layout.
* :mod:`.reps`: :func:`~.reps.render_reps`, exercise videos with per-frame phase tags and rep counts.
* :mod:`.dives`: :func:`~.dives.render_dives`, procedural dives of the 48 Diving48 classes in Diving48 format.
* :mod:`.streams`: :func:`~.streams.render_streams`, long videos chaining actions, idle and exercises, 1-3 people.

pybullet is imported only when a renderer is created (``pip install 'actkit[synth]'``).
"""
from .actions import render_actions
from .dives import render_dives
from .postures import render_postures
from .reps import EXERCISES, render_reps
from .streams import render_streams

__all__ = ["EXERCISES", "render_actions", "render_dives", "render_postures", "render_reps", "render_streams"]
