"""Diving48 label structure and FINA dive numbers (pure python).

A Diving48 class is a 4-tuple: take-off (back / forward / inward / reverse), somersaults
(8 values, "Dive" to 4.5), twists (8 values, 0 to 3.5) and flight position (straight / pike /
tuck / free). :class:`DiveLabel` holds one such tuple with numbers instead of strings, and
converts to and from

* the strings of the official vocab file ``Diving48_vocab.json`` (a JSON list of 4-string
  lists such as ``["Back", "15som", "05Twis", "FREE"]``): :func:`label_from_vocab`,
  :func:`label_to_vocab`, :func:`read_diving48_vocab`, :func:`write_diving48_vocab`;
* dive numbers (``"5253B"`` = back, 2.5 somersaults, 1.5 twists, pike): :func:`parse_dive_number`,
  :func:`format_dive_number`.

**The vocab.** :data:`DIVING48_VOCAB` is the official ``Diving48_vocab.json`` of the RESOUND
project (Li, Li & Vasconcelos, ECCV 2018; http://www.svcl.ucsd.edu/projects/resound/), copied
verbatim, in its order (class index = position), from a public transcription of that file
found in a GitHub repository; its first rows agree with the excerpt quoted in public dataset
docs (``["Back", "15som", "05Twis", "FREE"]``, ``["Back", "15som", "15Twis", "FREE"]``, ...).
The rows are sorted as strings, which is why ``"2som"`` comes after ``"25som"``.

**"Dive" is half a somersault.** A plain dive (dive numbers 101-401, third digit 1) turns
the body half a turn, from feet-up at take-off to head-first at entry; so the vocab value
``"Dive"`` is ``somersaults=0.5`` here (0 would be a feet-first jump, which Diving48 does not
contain). With that, every class maps to a dive number and back.

**Dive numbers** (FINA): 3 or 4 digits and a position letter (A straight, B pike, C tuck,
D free).

* Groups 1-4 (1 forward, 2 back, 3 reverse, 4 inward): ``G F S``: ``F`` is 1 for a flying
  action (a straight position held for half a somersault before the pike/tuck), else 0;
  ``S`` half somersaults (1-9; ``"1011"``, two digits, is 5.5 somersaults: groups 1-4 with
  4 digits take the last two as the half-somersault count, 10-19).
* Group 5 (twisting): ``5 G S T``: ``G`` the take-off group (1-4), ``S`` half somersaults,
  ``T`` half twists (1-9).
* Group 6 (armstand): supported as ``6 G S`` (non-twisting) and ``6 G S T`` (twisting), with
  ``G`` the direction 1 forward, 2 back, 3 reverse (armstands have no inward group). Old-style
  numbers with direction digit 0 (``"600A"`` "armstand dive") do not say the direction and
  are refused as ambiguous, as is direction 4.

The free position (D) is only valid with twists (it means "any position while twisting"),
and a 4-digit group-1-4 number must have 10-19 half somersaults (any other 4th digit would
be a twist digit, which only groups 5 and 6 have). Everything else raises one ``ValueError`` naming the number.

Example:
    >>> parse_dive_number("5253B")
    DiveLabel(takeoff='back', somersaults=2.5, twists=1.5, position='pike', flying=False, armstand=False)
    >>> format_dive_number(label_from_vocab(["Back", "15som", "05Twis", "FREE"]))
    '5231D'
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

TAKEOFFS = ("back", "forward", "inward", "reverse")
SOMERSAULTS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.5)  # the 8 Diving48 values; 0.5 is "Dive"
TWISTS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
POSITIONS = ("straight", "pike", "tuck", "free")
PART_NAMES = ("takeoff", "somersaults", "twists", "position")  # the order of a Diving48 vocab row

# Dive-number digits and letters.
GROUP_OF_TAKEOFF = {"forward": 1, "back": 2, "reverse": 3, "inward": 4}
TAKEOFF_OF_GROUP = {g: t for t, g in GROUP_OF_TAKEOFF.items()}
ARMSTAND_DIRECTIONS = {1: "forward", 2: "back", 3: "reverse"}
LETTER_OF_POSITION = {"straight": "A", "pike": "B", "tuck": "C", "free": "D"}
POSITION_OF_LETTER = {c: p for p, c in LETTER_OF_POSITION.items()}

# Vocab-file spellings.
VOCAB_TAKEOFF = {"back": "Back", "forward": "Forward", "inward": "Inward", "reverse": "Reverse"}
VOCAB_POSITION = {"straight": "STR", "pike": "PIKE", "tuck": "TUCK", "free": "FREE"}

DIVING48_VOCAB: tuple[tuple[str, str, str, str], ...] = (
    ("Back", "15som", "05Twis", "FREE"), ("Back", "15som", "15Twis", "FREE"), ("Back", "15som", "25Twis", "FREE"),
    ("Back", "15som", "NoTwis", "PIKE"), ("Back", "15som", "NoTwis", "TUCK"), ("Back", "25som", "15Twis", "PIKE"),
    ("Back", "25som", "25Twis", "PIKE"), ("Back", "25som", "NoTwis", "PIKE"), ("Back", "25som", "NoTwis", "TUCK"),
    ("Back", "2som", "15Twis", "FREE"), ("Back", "2som", "25Twis", "FREE"), ("Back", "35som", "NoTwis", "PIKE"),
    ("Back", "35som", "NoTwis", "TUCK"), ("Back", "3som", "NoTwis", "PIKE"), ("Back", "3som", "NoTwis", "TUCK"),
    ("Back", "Dive", "NoTwis", "PIKE"), ("Back", "Dive", "NoTwis", "TUCK"), ("Forward", "15som", "1Twis", "FREE"),
    ("Forward", "15som", "2Twis", "FREE"), ("Forward", "15som", "NoTwis", "PIKE"), ("Forward", "1som", "NoTwis", "PIKE"),
    ("Forward", "25som", "1Twis", "PIKE"), ("Forward", "25som", "2Twis", "PIKE"), ("Forward", "25som", "3Twis", "PIKE"),
    ("Forward", "25som", "NoTwis", "PIKE"), ("Forward", "25som", "NoTwis", "TUCK"),
    ("Forward", "35som", "NoTwis", "PIKE"), ("Forward", "35som", "NoTwis", "TUCK"),
    ("Forward", "45som", "NoTwis", "TUCK"), ("Forward", "Dive", "NoTwis", "PIKE"), ("Forward", "Dive", "NoTwis", "STR"),
    ("Inward", "15som", "NoTwis", "PIKE"), ("Inward", "15som", "NoTwis", "TUCK"), ("Inward", "25som", "NoTwis", "PIKE"),
    ("Inward", "25som", "NoTwis", "TUCK"), ("Inward", "35som", "NoTwis", "TUCK"), ("Inward", "Dive", "NoTwis", "PIKE"),
    ("Reverse", "15som", "05Twis", "FREE"), ("Reverse", "15som", "15Twis", "FREE"),
    ("Reverse", "15som", "25Twis", "FREE"), ("Reverse", "15som", "35Twis", "FREE"),
    ("Reverse", "15som", "NoTwis", "PIKE"), ("Reverse", "25som", "15Twis", "PIKE"),
    ("Reverse", "25som", "NoTwis", "PIKE"), ("Reverse", "25som", "NoTwis", "TUCK"),
    ("Reverse", "35som", "NoTwis", "TUCK"), ("Reverse", "Dive", "NoTwis", "PIKE"), ("Reverse", "Dive", "NoTwis", "TUCK"),
)


@dataclass(frozen=True)
class DiveLabel:
    """One dive: the Diving48 4-tuple, plus the two dive-number details Diving48 does not label.

    Attributes:
        takeoff: one of :data:`TAKEOFFS`.
        somersaults: turns about the lateral axis, a multiple of 0.5 (0.5 is a plain "dive").
        twists: turns about the body's long axis, a multiple of 0.5.
        position: one of :data:`POSITIONS`.
        flying: a flying action (dive-number digit 2 = 1, groups 1-4 only).
        armstand: an armstand take-off (group 6); ``takeoff`` is then its direction.
    """

    takeoff: str
    somersaults: float
    twists: float
    position: str
    flying: bool = False
    armstand: bool = False

    def __post_init__(self) -> None:
        if self.takeoff not in TAKEOFFS:
            raise ValueError(f"DiveLabel takeoff {self.takeoff!r} is not one of {TAKEOFFS}")
        if self.position not in POSITIONS:
            raise ValueError(f"DiveLabel position {self.position!r} is not one of {POSITIONS}")
        for name in ("somersaults", "twists"):
            v = float(getattr(self, name))
            if v < 0 or abs(v * 2 - round(v * 2)) > 1e-9:
                raise ValueError(f"DiveLabel {name}={getattr(self, name)!r}: must be a non-negative multiple of 0.5")
            object.__setattr__(self, name, round(v * 2) / 2)  # 2.5000001 -> 2.5, ints -> floats
        if self.somersaults == 0:
            raise ValueError("DiveLabel somersaults=0: a dive turns at least half a somersault")
        if self.armstand and self.takeoff == "inward":
            raise ValueError("DiveLabel: armstand dives have no inward direction")
        if self.armstand and self.flying:
            raise ValueError("DiveLabel: an armstand dive cannot be flying")

    @property
    def parts(self) -> tuple[str, str, str, str]:
        """The 4-tuple as strings, ``("back", "2.5", "1.5", "pike")`` (what factorised heads take)."""
        return (self.takeoff, f"{self.somersaults:g}", f"{self.twists:g}", self.position)

    @property
    def text(self) -> str:
        """A readable name, e.g. ``"back 2.5 somersaults 1.5 twists pike"`` or ``"forward dive straight"``."""
        som = "dive" if self.somersaults == 0.5 else f"{self.somersaults:g} somersault" + ("" if self.somersaults == 1 else "s")
        tw = "" if self.twists == 0 else f" {self.twists:g} twist" + ("" if self.twists == 1 else "s")
        prefix = ("armstand " if self.armstand else "") + ("flying " if self.flying else "")
        return f"{prefix}{self.takeoff} {som}{tw} {self.position}"

    @property
    def words(self) -> str:
        """How a diving announcer says it: ``"back, 2 1/2 somersaults, 1 1/2 twists, pike"``, ``"forward dive,
        straight"``."""
        head = ("armstand " if self.armstand else "") + ("flying " if self.flying else "") + self.takeoff
        out = [head + " dive"] if self.somersaults == 0.5 else [head, _plural(self.somersaults, "somersault")]
        if self.twists:
            out.append(_plural(self.twists, "twist"))
        return ", ".join(out + [self.position])


def _plural(v: float, noun: str) -> str:
    """``2.5, "twist"`` -> ``"2 1/2 twists"``; ``0.5`` -> ``"1/2 twist"``; ``1`` -> ``"1 twist"``."""
    whole, half = int(v), v != int(v)
    count = " ".join(([str(whole)] if whole else []) + (["1/2"] if half else []))
    return f"{count} {noun}" + ("s" if v > 1 else "")


# ----------------------------------------------------------------------------- vocab strings

def _som_text(v: float) -> str:
    if v == 0.5:
        return "Dive"
    return f"{int(v)}som" if v == int(v) else f"{int(v)}5som"


def _twist_text(v: float) -> str:
    if v == 0:
        return "NoTwis"
    return f"{int(v)}Twis" if v == int(v) else f"{int(v)}5Twis"


def _half_value(text: str, suffix: str, what: str, row) -> float:
    """``"25som"`` -> 2.5, ``"05Twis"`` -> 0.5, ``"3som"`` -> 3.0."""
    m = re.fullmatch(r"(\d)(5?)" + suffix, text)
    if not m:
        raise ValueError(f"Diving48 vocab row {row}: bad {what} {text!r} (expected e.g. '25{suffix}')")
    return int(m.group(1)) + (0.5 if m.group(2) else 0.0)


def label_from_vocab(row) -> DiveLabel:
    """A :class:`DiveLabel` from one vocab row such as ``["Back", "15som", "05Twis", "FREE"]``.

    Raises:
        ValueError: naming the row when it is not 4 known strings.
    """
    if isinstance(row, (str, bytes)) or len(row) != 4:
        raise ValueError(f"Diving48 vocab row {row!r}: expected 4 strings [takeoff, somersaults, twists, position]")
    takeoff, som, tw, pos = (str(v) for v in row)
    takeoffs = {v: k for k, v in VOCAB_TAKEOFF.items()}
    positions = {v: k for k, v in VOCAB_POSITION.items()}
    if takeoff not in takeoffs:
        raise ValueError(f"Diving48 vocab row {list(row)}: unknown take-off {takeoff!r}; known {sorted(takeoffs)}")
    if pos not in positions:
        raise ValueError(f"Diving48 vocab row {list(row)}: unknown position {pos!r}; known {sorted(positions)}")
    somersaults = 0.5 if som == "Dive" else _half_value(som, "som", "somersaults", list(row))
    twists = 0.0 if tw == "NoTwis" else _half_value(tw, "Twis", "twists", list(row))
    return DiveLabel(takeoffs[takeoff], somersaults, twists, positions[pos])


def label_to_vocab(label: DiveLabel) -> list[str]:
    """The vocab row of ``label``, e.g. ``["Back", "15som", "05Twis", "FREE"]`` (flying/armstand are dropped:
    Diving48 does not label them)."""
    return [VOCAB_TAKEOFF[label.takeoff], _som_text(label.somersaults), _twist_text(label.twists),
            VOCAB_POSITION[label.position]]


DIVING48_LABELS: tuple[DiveLabel, ...] = tuple(label_from_vocab(row) for row in DIVING48_VOCAB)


def read_diving48_vocab(path: str | os.PathLike) -> list[DiveLabel]:
    """Read a ``Diving48_vocab.json`` (a JSON list of 4-string lists); class index = position in the list.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming ``path`` when it is not a list of valid, distinct rows.
    """
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from e
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty JSON list of [takeoff, somersaults, twists, position] rows")
    try:
        labels = [label_from_vocab(row) for row in rows]
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from e
    if len(set(labels)) != len(labels):
        dup = next(lab for lab in labels if labels.count(lab) > 1)
        raise ValueError(f"{path}: the class {label_to_vocab(dup)} is listed twice")
    return labels


def write_diving48_vocab(path: str | os.PathLike, classes=DIVING48_LABELS) -> None:
    """Write ``classes`` (DiveLabels or vocab rows) as a ``Diving48_vocab.json`` (atomically)."""
    from actkit.utils.io import atomic_write_json

    labels = [c if isinstance(c, DiveLabel) else label_from_vocab(c) for c in classes]
    if not labels:
        raise ValueError(f"{path}: no classes to write")
    rows = [label_to_vocab(lab) for lab in labels]
    if len({tuple(r) for r in rows}) != len(rows):
        raise ValueError(f"{path}: two classes have the same vocab row")
    atomic_write_json(path, rows)


# ----------------------------------------------------------------------------- dive numbers

def parse_dive_number(number: str) -> DiveLabel:
    """Parse a FINA dive number such as ``"5253B"`` (see the module docstring for the rules).

    Raises:
        ValueError: naming ``number`` and what is wrong with it.
    """
    if not isinstance(number, str):
        raise ValueError(f"dive number {number!r}: expected a string such as '5253B'")
    text = number.strip().upper()
    m = re.fullmatch(r"(\d{3,4})([A-Z])", text)
    if not m:
        raise ValueError(f"dive number {number!r}: expected 3 or 4 digits and a letter A-D, e.g. '105B' or '5253B'")
    digits, letter = m.group(1), m.group(2)
    if letter not in POSITION_OF_LETTER:
        raise ValueError(f"dive number {number!r}: position letter {letter!r} is not A-D")
    position = POSITION_OF_LETTER[letter]
    d = [int(c) for c in digits]
    group = d[0]

    def bad(why: str) -> ValueError:
        return ValueError(f"dive number {number!r}: {why}")

    if group in GROUP_OF_TAKEOFF.values():
        if d[1] not in (0, 1):
            raise bad(f"second digit {d[1]} must be 0 or 1 (flying) for group {group}")
        if len(d) == 3:
            halves = d[2]
        else:
            halves = d[2] * 10 + d[3]
            if d[2] != 1:  # only 5 somersaults and more take two digits (10-19 half somersaults)
                raise bad(f"group {group} dives have no twist digit (twisting dives are group 5)")
        if halves == 0:
            raise bad("half-somersault digit 0: not a dive")
        label = dict(takeoff=TAKEOFF_OF_GROUP[group], somersaults=halves / 2, twists=0.0, flying=d[1] == 1)
    elif group == 5:
        if len(d) != 4:
            raise bad("twisting dives (group 5) have 4 digits: 5, take-off group, half somersaults, half twists")
        if d[1] not in TAKEOFF_OF_GROUP:
            raise bad(f"second digit {d[1]} of a twisting dive must be the take-off group 1-4")
        if d[2] == 0 or d[3] == 0:
            raise bad("a twisting dive needs half-somersault and half-twist digits of 1-9")
        label = dict(takeoff=TAKEOFF_OF_GROUP[d[1]], somersaults=d[2] / 2, twists=d[3] / 2)
    elif group == 6:
        if d[1] not in ARMSTAND_DIRECTIONS:
            raise bad(f"armstand direction digit {d[1]} is ambiguous or unknown (supported: 1 forward, 2 back, 3 reverse)")
        if d[2] == 0:
            raise bad("half-somersault digit 0: not a dive")
        if len(d) == 4 and d[3] == 0:
            raise bad("an armstand twisting dive needs a half-twist digit of 1-9 (or use 3 digits)")
        label = dict(takeoff=ARMSTAND_DIRECTIONS[d[1]], somersaults=d[2] / 2,
                     twists=d[3] / 2 if len(d) == 4 else 0.0, armstand=True)
    else:
        raise bad(f"group digit {group} is not 1-6 (1 forward, 2 back, 3 reverse, 4 inward, 5 twisting, 6 armstand)")
    if position == "free" and label["twists"] == 0:
        raise bad("the free position (D) is only used with twists")
    return DiveLabel(position=position, **label)


def format_dive_number(label: DiveLabel) -> str:
    """The FINA dive number of ``label``, e.g. ``"5253B"``; inverse of :func:`parse_dive_number`.

    Raises:
        ValueError: when the dive has no number (more than 4.5 somersaults with twists, more than
            9.5 somersaults, more than 4.5 twists, flying with twists, or free without twists).
    """
    halves, half_twists = int(round(label.somersaults * 2)), int(round(label.twists * 2))
    letter = LETTER_OF_POSITION[label.position]
    if label.position == "free" and half_twists == 0:
        raise ValueError(f"{label.text}: the free position (D) is only used with twists")
    if half_twists > 9:
        raise ValueError(f"{label.text}: more than 4.5 twists has no dive number")
    if label.armstand:
        direction = {t: g for g, t in ARMSTAND_DIRECTIONS.items()}[label.takeoff]
        if halves > 9:
            raise ValueError(f"{label.text}: more than 4.5 somersaults has no armstand dive number")
        return f"6{direction}{halves}{half_twists if half_twists else ''}{letter}"
    group = GROUP_OF_TAKEOFF[label.takeoff]
    if half_twists:
        if label.flying:
            raise ValueError(f"{label.text}: twisting dives (group 5) have no flying digit")
        if halves > 9:
            raise ValueError(f"{label.text}: more than 4.5 somersaults with twists has no dive number")
        return f"5{group}{halves}{half_twists}{letter}"
    if halves > 19:
        raise ValueError(f"{label.text}: too many somersaults for a dive number")
    return f"{group}{int(label.flying)}{halves}{letter}"


__all__ = ["DIVING48_LABELS", "DIVING48_VOCAB", "POSITIONS", "SOMERSAULTS", "TAKEOFFS", "TWISTS", "DiveLabel",
           "format_dive_number", "label_from_vocab", "label_to_vocab", "parse_dive_number", "read_diving48_vocab",
           "write_diving48_vocab"]
