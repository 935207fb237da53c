"""MediaPipe's model files: where they come from, how they are checked, where they live.

``fetch_mediapipe()`` takes the ``.tflite`` files from a folder the user names (an unpacked wheel, a copy of
``mediapipe/modules``, or the wheel file itself), or runs ``pip download --no-deps mediapipe==0.10.21`` and
reads them out of the wheel without installing or importing it. Each file is checked against its sha256
pin and written atomically to ``<ACTKIT_HOME>/mediapipe/0.10.21/<module>/<name>.tflite``.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..utils.io import atomic_write_bytes, sha256_hex

log = logging.getLogger(__name__)

MEDIAPIPE_VERSION = "0.10.21"
# sha256 of the wheel (cp311, manylinux_2_28, x86_64) on PyPI
MEDIAPIPE_WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# The model files under mediapipe/modules/ of that wheel, and their sha256.
MEDIAPIPE_FILES = {
    "face_detection/face_detection_full_range_sparse.tflite": "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "face_detection/face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark/face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "face_landmark/face_landmark_with_attention.tflite": "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
    "hand_landmark/hand_landmark_full.tflite": "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    "hand_landmark/hand_landmark_lite.tflite": "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
    "holistic_landmark/hand_recrop.tflite": "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
    "iris_landmark/iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    "palm_detection/palm_detection_full.tflite": "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    "palm_detection/palm_detection_lite.tflite": "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "pose_detection/pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmark/pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "selfie_segmentation/selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "selfie_segmentation/selfie_segmentation_landscape.tflite": "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
}
FETCH_COMMAND = "actkit models fetch mediapipe"


def actkit_home() -> Path:
    """``$ACTKIT_HOME``, default ``~/.cache/actkit``."""
    return Path(os.environ.get("ACTKIT_HOME") or Path.home() / ".cache" / "actkit")


def cache_dir() -> Path:
    return actkit_home() / "mediapipe" / MEDIAPIPE_VERSION


def cached_pins(pins: dict[str, str], folder: Path) -> dict[str, str] | None:
    """``{relative name: path}`` when every pinned file is in ``folder`` and matches its sha256, else None."""
    out = {k: folder / k for k in pins}
    if all(p.is_file() and sha256_hex(p.read_bytes()) == pins[k] for k, p in out.items()):
        return {k: str(p) for k, p in out.items()}
    return None


def store_pins(blobs: dict[str, bytes], pins: dict[str, str], folder: Path, where: str) -> dict[str, str]:
    """Check every blob against its pin (one error naming the first that differs, before anything is written),
    then write each atomically under ``folder``; returns ``{relative name: path}``."""
    for rel, data in blobs.items():
        if sha256_hex(data) != pins[rel]:
            raise ValueError(f"{where}: {rel} has sha256 {sha256_hex(data)[:16]}..., not the pinned "
                             f"{pins[rel][:16]}... (another release, or a damaged file)")
    out = {}
    for rel, data in blobs.items():
        atomic_write_bytes(folder / rel, data)
        out[rel] = str(folder / rel)
    return out


def model_path(name: str) -> Path:
    """The cached, verified file of model ``name`` (``pose_detection`` or ``pose_detection/pose_detection.tflite``).

    Raises:
        KeyError: not one of MediaPipe's files (the known ones are listed).
        FileNotFoundError: not fetched yet (the message is the command that fetches it).
    """
    rel = next((k for k in MEDIAPIPE_FILES if name in (k, Path(k).stem)), None)
    if rel is None:
        raise KeyError(f"unknown MediaPipe model {name!r}; known: {', '.join(Path(k).stem for k in MEDIAPIPE_FILES)}")
    path = cache_dir() / rel
    if not path.is_file():
        raise FileNotFoundError(f"MediaPipe model {Path(rel).stem} is not in {cache_dir()}: run `{FETCH_COMMAND}`")
    return path


def fetch_mediapipe(source: str | os.PathLike | None = None, force: bool = False) -> dict[str, str]:
    """Obtain, verify and cache every MediaPipe model file; returns ``{relative name: cached path}``.

    Args:
        source: a folder holding the files (as ``mediapipe/modules/...``, ``modules/...`` or ``<module>/...``),
            or a ``mediapipe-0.10.21`` wheel; None downloads the wheel with ``pip download --no-deps``.
        force: fetch again even when every file is already cached and verified.

    Raises:
        ValueError: a file whose sha256 differs from its pin, a wheel of another release, or a source
            missing files (each named).
    """
    if not force and (cached := cached_pins(MEDIAPIPE_FILES, cache_dir())):
        return cached
    if source is None:
        with tempfile.TemporaryDirectory(prefix="actkit-mediapipe-") as tmp:
            return _from_wheel(_download_wheel(Path(tmp)))
    source = Path(source)
    if source.is_file() and source.suffix == ".whl":
        return _from_wheel(source)
    if source.is_dir():
        return _store({k: _find_in(source, k) for k in MEDIAPIPE_FILES}, str(source))
    raise FileNotFoundError(f"{source}: neither a folder of MediaPipe model files nor a mediapipe wheel")


def _find_in(folder: Path, rel: str) -> bytes:
    for base in (folder / "mediapipe" / "modules", folder / "modules", folder):
        p = base / rel
        if p.is_file():
            return p.read_bytes()
    raise ValueError(f"{folder}: no {rel} (looked under mediapipe/modules/, modules/ and the folder itself)")


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest),
           f"mediapipe=={MEDIAPIPE_VERSION}"]
    log.info("downloading the mediapipe %s wheel (about 36 MB) for its model files", MEDIAPIPE_VERSION)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"`{' '.join(cmd)}` failed ({tail[0]}); pass a folder or wheel: `{FETCH_COMMAND} --from DIR`")
    return wheels[0]


def _from_wheel(wheel: Path) -> dict[str, str]:
    if f"mediapipe-{MEDIAPIPE_VERSION}-" not in wheel.name:
        raise ValueError(f"{wheel}: not a mediapipe {MEDIAPIPE_VERSION} wheel")
    if sha256_hex(wheel.read_bytes()) != MEDIAPIPE_WHEEL_SHA256:
        log.warning("%s: not the cp311 x86_64 wheel whose sha256 is pinned; each model file is still checked", wheel)
    with zipfile.ZipFile(wheel) as z:  # only the pinned names are read: nothing else from the archive is used
        names = set(z.namelist())
        blobs = {}
        for rel in MEDIAPIPE_FILES:
            member = f"mediapipe/modules/{rel}"
            if member not in names:
                raise ValueError(f"{wheel}: no {member}")
            blobs[rel] = z.read(member)
    return _store(blobs, str(wheel))


def _store(blobs: dict[str, bytes], where: str) -> dict[str, str]:
    out = store_pins(blobs, MEDIAPIPE_FILES, cache_dir(), where)
    log.info("MediaPipe %s models verified and cached in %s", MEDIAPIPE_VERSION, cache_dir())
    return out
