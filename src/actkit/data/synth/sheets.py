"""Contact sheets: one PNG per rendered set that a person can check at a glance.

:class:`ContactSheet` is the grid every set draws into (a caption column, then rows of frames each
with caption lines under it); one function per set picks what to show.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...utils.io import atomic_path
from ..video.sources import iter_video, read_video


class ContactSheet:
    """A white grid of ``rows`` x ``per_row`` cells of ``cell`` pixels, a ``label_w`` caption column on
    the left and ``caption`` pixels of text under each row."""

    def __init__(self, rows: int, per_row: int, cell: int, label_w: int, caption: int = 0) -> None:
        from PIL import Image, ImageDraw

        self.per_row, self.cell, self.label_w, self.row_h = per_row, cell, label_w, cell + caption
        self.image = Image.new("RGB", (label_w + per_row * cell, rows * self.row_h), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)

    def label(self, row: int, lines: Sequence[str], first_black: int = 1) -> None:
        """Caption lines in the left column of ``row``: the first ``first_black`` in black, then grey."""
        for i, text in enumerate(lines):
            y = row * self.row_h + 4 + (16 if i == 1 else 14) * i + (2 if i > 1 else 0)
            self.draw.text((4, y), text, fill=(0, 0, 0) if i < first_black else (90, 90, 90))

    def paste(self, row: int, k: int, img: Any, captions: Sequence[tuple[str, tuple[int, int, int]]] = ()) -> None:
        """Frame ``img`` (array or PIL image, resized to the cell) at cell ``k`` of ``row``, captions under it."""
        from PIL import Image

        img = img if isinstance(img, Image.Image) else Image.fromarray(img)
        x, top = self.label_w + k * self.cell, row * self.row_h
        self.image.paste(img.resize((self.cell, self.cell), Image.BILINEAR), (x, top))
        for i, (text, colour) in enumerate(captions):
            self.draw.text((x + 2, top + self.cell + 12 * i), text, fill=colour)

    def save(self, path: str | Path) -> None:
        """Write the PNG atomically."""
        with atomic_path(path) as tmp:
            self.image.save(tmp, format="PNG")


def spread(n: int, k: int, first: int = 0, last: int | None = None) -> list[int]:
    """``k`` frame indices evenly from ``first`` to ``last`` (default ``n - 1``); none for an empty video."""
    last = n - 1 if last is None else last
    return np.linspace(first, last, k).round().astype(int).tolist() if n else []


def read_frames(path: str | Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Only the frames ``indices`` of a video (RGB uint8), so a long stream is never held in memory."""
    wanted, got = set(indices), {}
    for j, img in iter_video(path):
        if j in wanted:
            got[j] = img
            if len(got) == len(wanted):
                break
    return got


def actions_sheet(out: str | Path, plans: list[Any], path: str | Path, per_row: int = 6, cell: int = 112) -> None:
    """One row per class: ``per_row`` frames evenly across time of the video of each plan, labelled."""
    sheet = ContactSheet(len(plans), per_row, cell, 110)
    for r, plan in enumerate(plans):
        images = read_video(Path(out) / "videos" / plan.relpath)
        sheet.label(r, [plan.cls, f"{plan.split} s{plan.sector} x{plan.speed:.2f}", "mirrored" if plan.mirror else ""])
        for k, idx in enumerate(spread(len(images), per_row)):
            sheet.paste(r, k, images[idx])
    sheet.save(path)


def reps_sheet(out: str | Path, plans: list[Any], path: str | Path, per_row: int = 10, cell: int = 112) -> None:
    """One row per video of ``plans``: ``per_row`` frames across the video, each captioned with its tag
    and phase."""
    sheet = ContactSheet(len(plans), per_row, cell, 110, caption=14)
    for r, plan in enumerate(plans):
        images = read_video(Path(out) / "videos" / plan.exercise / f"{plan.stem}.mp4")
        label = json.loads((Path(out) / "labels" / plan.exercise / f"{plan.stem}.json").read_text())
        sheet.label(r, [plan.exercise, f"{plan.split} s{plan.sector} count {plan.count}",
                        "mirrored" if plan.mirror else ""])
        # Frames across the first reps (and the idle start), where a viewer can check high vs low.
        last = label["rep_boundaries"][min(1, plan.count - 1)][1] if plan.count else len(images) - 1
        first = max(0, label["rep_boundaries"][0][0] - 2) if plan.count else 0
        for k, idx in enumerate(spread(len(images), per_row, first, min(last, len(images) - 1))):
            tag = label["tags"][idx].replace(plan.exercise + "_", "")
            sheet.paste(r, k, images[idx], [(f"{idx} {tag} {label['phase'][idx]:.2f}", (0, 0, 0))])
    sheet.save(path)


def dives_sheet(out: str | Path, plans: list[Any], path: str | Path, per_row: int = 12, cell: int = 96) -> None:
    """One row per video of ``plans``: ``per_row`` frames evenly from the take-off to the entry, each
    captioned with its cumulative somersault and twist (degrees)."""
    from ..dives import format_dive_number, label_to_vocab

    sheet = ContactSheet(len(plans), per_row, cell, 150, caption=12)
    for r, plan in enumerate(plans):
        images = read_video(Path(out) / "rgb" / f"{plan.vid_name}.mp4")
        lab = plan.label
        sheet.label(r, [f"{plan.cls} {format_dive_number(lab)}", " ".join(label_to_vocab(lab)),
                        f"{plan.split} s{plan.sector} {plan.frames}f {plan.height:g}m"], first_black=2)
        for k, j in enumerate(spread(len(images), per_row)):
            sheet.paste(r, k, images[j], [(f"{plan.somersault_deg[j]:.0f}/{plan.twist_deg[j]:.0f}", (0, 0, 0))])
    sheet.save(path)


def streams_sheet(out: str | Path, plans: list[Any], path: str | Path, per_row: int = 8, cell: int = 128) -> None:
    """One row per video of ``plans``: ``per_row`` frames across it, with every person's box, track id
    and label drawn in."""
    from PIL import Image, ImageDraw

    colours = [(255, 60, 60), (60, 220, 60), (60, 120, 255), (240, 200, 0)]
    caption = 12 * max((len(p.people) for p in plans), default=1) + 2  # one caption line per person
    sheet = ContactSheet(len(plans), per_row, cell, 100, caption)
    for r, plan in enumerate(plans):
        label = json.loads((Path(out) / "labels" / f"{plan.name}.json").read_text())
        idx = spread(plan.frames, per_row)
        images = read_frames(Path(out) / "videos" / f"{plan.name}.mp4", idx)
        sheet.label(r, [plan.name, f"{plan.split} {plan.frames / plan.fps:.0f} s", f"{len(plan.people)} people"])
        people = label["people"]
        for c, j in enumerate(idx):
            if j not in images:
                continue
            img = Image.fromarray(images[j])
            scale = cell / img.width
            img = img.resize((cell, cell), Image.BILINEAR)
            d = ImageDraw.Draw(img)
            for k, person in enumerate(people):
                if person["boxes"][j] is not None:
                    d.rectangle([v * scale for v in person["boxes"][j]], outline=colours[k % len(colours)])
            sheet.paste(r, c, img, [(f"{p['track_id']}:{p['tags'][j]}"[:20],
                                     colours[k % len(colours)] if len(people) > 1 else (0, 0, 0))
                                    for k, p in enumerate(people)])
    sheet.save(path)


def postures_sheet(rows: list[dict], labels: Sequence[str], path: str | Path, per_label: int = 12, columns: int = 6,
                   cell: int = 160) -> None:
    """Write a PNG grid: one block per label, ``per_label`` crops each with the box drawn and
    ``label / split / source`` captioned.

    Args:
        rows: Parquet rows as dicts (``label``, ``split``, ``image_bytes``, ``box``, ``source``).
        labels: the labels, one block each, in this order.
        path: destination PNG (written atomically).
        per_label: crops shown per label, taken evenly across the rows of that label.
        columns: crops per line.
        cell: side of a crop's square cell in pixels (crops are scaled up to fit).
    """
    from PIL import Image, ImageDraw

    from ..schema import decode_image

    caption, header = 14, 22
    lines = -(-per_label // columns)
    block = header + lines * (cell + caption)
    sheet = Image.new("RGB", (columns * cell, len(labels) * block), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for b, label in enumerate(labels):
        mine = [r for r in rows if r["label"] == label]
        top = b * block
        draw.text((4, top + 4), f"{label} ({len(mine)} rows)", fill=(0, 0, 0))
        picks = [mine[int(k)] for k in np.linspace(0, len(mine) - 1, min(per_label, len(mine)))] if mine else []
        for k, row in enumerate(picks):
            img = Image.fromarray(decode_image(row["image_bytes"]))
            scale = cell / max(img.size)
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.NEAREST)
            x, y = (k % columns) * cell, top + header + (k // columns) * (cell + caption)
            sheet.paste(img, (x, y))
            x0, y0, x1, y1 = row["box"]
            w, h = img.size
            draw.rectangle([x + x0 * w, y + y0 * h, x + x1 * w - 1, y + y1 * h - 1], outline=(255, 0, 0))
            draw.text((x + 2, y + cell), f"{label}/{row['split']}/{row['source'].rsplit(':', 1)[-1]}", fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
