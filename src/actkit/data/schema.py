"""The actkit crop-dataset format (a Parquet file, one row per crop).

Columns written by ``actkit data crops`` and ``actkit synth postures``:

===============  ========  ==========================================================
column           type      meaning
===============  ========  ==========================================================
``split``        string    ``train`` / ``val`` / ``test``
``label``        string    class name
``class_id``     int64     index of ``label`` in the sorted class list
``image_bytes``  binary    encoded image (PNG or JPEG), RGB
``group``        string    what must not straddle splits (video, person, face, scene)
``width``        int32     image width in pixels
``height``       int32     image height in pixels
``source``       string    where the crop came from (file path, renderer id)
``box``          list<f4>  optional: the object box inside the image as relative
                           ``[x0, y0, x1, y1]`` in [0, 1]; the image holds context
                           around it so box-jitter augmentation has pixels to use.
                           Missing or null means the whole image.
===============  ========  ==========================================================

Extra columns are kept and ignored by the trainer (synth sets add e.g. ``camera_sector``).
The reference family's files (``split``, ``label``, ``class_id``, ``image_bytes`` or
``image_path``, ``source``) are read unchanged by :func:`actkit.data.crops.read_crops_table`.
"""
from __future__ import annotations

import io
import re

import numpy as np

REQUIRED_COLUMNS = ("split", "label", "class_id", "image_bytes", "group", "width", "height")
SPLITS = ("train", "val", "test")


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an HxWx3 uint8 RGB array as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to an HxWx3 uint8 RGB array.

    Raises:
        ValueError: naming ``name`` when the bytes are not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        # PIL names the in-memory buffer ("<_io.BytesIO object at 0x...>"); the caller's name is the useful one.
        reason = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", str(e)).strip() or type(e).__name__
        raise ValueError(f"{name}: not a readable image ({reason})") from e
