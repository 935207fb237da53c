"""Real photos and a real video of people, from Debian's ``opencv-doc`` package (examples and tutorial images).

``fetch_samples()`` downloads ``opencv-doc_4.6.0+dfsg-12_all.deb`` from the Debian archive (or takes the
``.deb`` or an unpacked ``/usr/share/doc/opencv-doc`` the user names), reads only the pinned members out of
it (the ``.deb`` is an ``ar`` archive holding ``data.tar.xz``; nothing is installed or run), checks each
against its sha256 and caches it under ``<ACTKIT_HOME>/opencv-doc/4.6.0/``. OpenCV's samples are under its
Apache-2.0 / BSD licences (``/usr/share/doc/opencv-doc/copyright``).
"""
from __future__ import annotations

import io
import lzma
import logging
import os
import tarfile
import urllib.request
from pathlib import Path

from ..utils.io import sha256_hex
from .assets import actkit_home, cached_pins, store_pins

log = logging.getLogger(__name__)

DEB = "opencv-doc_4.6.0+dfsg-12_all.deb"
DEB_URL = f"https://deb.debian.org/debian/pool/main/o/opencv/{DEB}"
DEB_SHA256 = "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a"
DOC = "usr/share/doc/opencv-doc"
# Photos with people (body, hands, faces) and the plaza video, with their sha256.
SAMPLES = {
    "examples/data/messi5.jpg": "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9",
    "examples/data/basketball1.png": "ba06f6701f7260998b430c39b6557f775497e6ce7b1a74f0b7ea6af371bf54a6",
    "examples/data/basketball2.png": "b3047772e0dc6c9d83c26f64894ca1a897f799f855c5574ac24b2ef934c2978e",
    "opencv4/html/handSrc.jpg": "088532ab39ada21d9e332fa576d01d516bf4b8999c54a2c75665b35989f197fd",
    "opencv4/html/gbocclusion.png": "bd283cc29d23a0b13fa7cea84ebd697aecb173ab29dc6e89cc00ed2047e979ec",
    "opencv4/html/Threshold_inRange_Tutorial_Result_input.jpeg":
        "195e9da310d5cdbefa9939fd917a3b54497ab139947075848281a336e63b5fb4",
    "examples/data/right04.jpg": "d5874ff3d948dbb673beb035dd70aef5e517119ff626ecdfd612fdd6a1eec32e",
    "opencv4/html/230501201_1.jpg": "fe4ffecdddbd2d319d5d6af1b144fe5eaeb7b845e4835dc9907fd7b9283e5c2f",
    "opencv4/html/227943776_1.jpg": "b038fd3919363b92037715027c36f5671cc2f9cf1fda9770325f75daf9c8fa56",
    "opencv4/html/12.jpg": "b4df3241cfc632b6d085a2faf49cccb575e3e9b76adf02bb2cdeb77a3633956e",
    "opencv4/html/lbp_yale.jpg": "2df162561bca6d97e60f40251300b6af1b1a538e2282c1b8f558b3b8335dfefc",
    "opencv4/html/example.jpg": "fb32d3db8768ff157daeff999cc7f4361d2bca866ed6dc95b8f78d8cc62ae208",
    "examples/data/vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
}
FETCH_COMMAND = "actkit data fetch opencv-samples"


def samples_dir() -> Path:
    return actkit_home() / "opencv-doc" / "4.6.0"


def sample_path(name: str) -> Path:
    """The cached file of a sample (``messi5.jpg`` or ``examples/data/messi5.jpg``).

    Raises:
        KeyError: not one of the samples. FileNotFoundError: not fetched yet (names the command).
    """
    rel = next((k for k in SAMPLES if name in (k, Path(k).name)), None)
    if rel is None:
        raise KeyError(f"unknown sample {name!r}; known: {', '.join(Path(k).name for k in SAMPLES)}")
    path = samples_dir() / rel
    if not path.is_file():
        raise FileNotFoundError(f"{Path(rel).name} is not in {samples_dir()}: run `{FETCH_COMMAND}`")
    return path


def _ar_member(deb: bytes, prefix: str) -> bytes:
    """The first member of an ``ar`` archive whose name starts with ``prefix``."""
    if not deb.startswith(b"!<arch>\n"):
        raise ValueError("not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(deb):
        header = deb[pos:pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode().strip())
        if name.startswith(prefix):
            return deb[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)
    raise ValueError(f"no {prefix}* member")


def _from_deb(deb: bytes, where: str) -> dict[str, bytes]:
    if sha256_hex(deb) != DEB_SHA256:
        log.warning("%s: not the %s whose sha256 is pinned; each file is still checked", where, DEB)
    try:
        data = lzma.decompress(_ar_member(deb, "data.tar.xz"))
    except (ValueError, lzma.LZMAError) as e:
        raise ValueError(f"{where}: cannot read it as {DEB} ({e})") from None
    wanted = {f"./{DOC}/{rel}": rel for rel in SAMPLES}
    blobs = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:  # only the pinned regular files are read
        for member in tar:
            if member.name in wanted and member.isfile():
                blobs[wanted[member.name]] = tar.extractfile(member).read()
    return blobs


def fetch_samples(source: str | os.PathLike | None = None, force: bool = False) -> dict[str, str]:
    """Obtain, verify and cache the sample photos and video; returns ``{relative name: cached path}``.

    Args:
        source: the ``.deb``, or a folder holding the unpacked ``opencv-doc`` docs (``examples/``,
            ``opencv4/``); None downloads the ``.deb`` from deb.debian.org.
        force: fetch again even when every file is cached and verified.
    """
    if not force and (cached := cached_pins(SAMPLES, samples_dir())):
        return cached
    if source is None:
        log.info("downloading %s (96 MB) for its sample photos", DEB)
        try:
            with urllib.request.urlopen(DEB_URL, timeout=120) as r:
                deb = r.read()
        except OSError as e:
            raise RuntimeError(f"cannot download {DEB_URL} ({e}); get the .deb (`apt-get download opencv-doc`) "
                               f"and run `{FETCH_COMMAND} --from {DEB}`") from None
        blobs = _from_deb(deb, DEB_URL)
    elif Path(source).is_file():
        blobs = _from_deb(Path(source).read_bytes(), str(source))
    elif Path(source).is_dir():
        base = next((b for b in (Path(source) / DOC, Path(source)) if (b / "examples").is_dir()), Path(source))
        blobs = {k: (base / k).read_bytes() for k in SAMPLES if (base / k).is_file()}
    else:
        raise FileNotFoundError(f"{source}: neither {DEB} nor a folder of the unpacked opencv-doc docs")
    missing = [k for k in SAMPLES if k not in blobs]
    if missing:
        raise ValueError(f"{source or DEB_URL}: missing {', '.join(missing)}")
    return store_pins(blobs, SAMPLES, samples_dir(), str(source or DEB_URL))
