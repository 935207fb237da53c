"""Diving48 labels and dive numbers: vocab, round trips, refusals."""
import itertools
import json

import pytest

from actkit.data import dives as D


def test_vocab_has_48_distinct_valid_classes():
    assert len(D.DIVING48_VOCAB) == 48 == len(set(D.DIVING48_VOCAB))
    assert list(D.DIVING48_VOCAB) == sorted(D.DIVING48_VOCAB)  # the official file is sorted as strings
    labels = D.DIVING48_LABELS
    assert len(set(labels)) == 48
    assert {lab.takeoff for lab in labels} == set(D.TAKEOFFS)
    assert {lab.somersaults for lab in labels} == set(D.SOMERSAULTS)
    assert {lab.twists for lab in labels} == set(D.TWISTS)
    assert {lab.position for lab in labels} == set(D.POSITIONS)
    for row, lab in zip(D.DIVING48_VOCAB, labels):
        assert D.label_to_vocab(lab) == list(row)
        assert (lab.position == "free") <= (lab.twists > 0)  # free only with twists
        # Every class has a dive number that parses back to it.
        assert D.parse_dive_number(D.format_dive_number(lab)) == lab


def test_examples():
    lab = D.parse_dive_number("5253B")
    assert (lab.takeoff, lab.somersaults, lab.twists, lab.position) == ("back", 2.5, 1.5, "pike")
    assert lab.parts == ("back", "2.5", "1.5", "pike")
    assert lab.text == "back 2.5 somersaults 1.5 twists pike"
    assert D.format_dive_number(lab) == "5253B"
    assert D.parse_dive_number("101a") == D.DiveLabel("forward", 0.5, 0, "straight")
    assert D.parse_dive_number("101A").text == "forward dive straight"
    assert D.parse_dive_number("109C") == D.DiveLabel("forward", 4.5, 0, "tuck")
    assert D.parse_dive_number("112B").flying and D.parse_dive_number("112B").somersaults == 1.0
    assert D.parse_dive_number("1011C").somersaults == 5.5
    assert D.parse_dive_number("407C") == D.DiveLabel("inward", 3.5, 0, "tuck")
    assert D.parse_dive_number("5132D") == D.label_from_vocab(["Forward", "15som", "1Twis", "FREE"])
    arm = D.parse_dive_number("6243D")
    assert arm.armstand and (arm.takeoff, arm.somersaults, arm.twists) == ("back", 2.0, 1.5)
    assert D.parse_dive_number("626C") == D.DiveLabel("back", 3.0, 0, "tuck", armstand=True)
    assert D.label_from_vocab(["Back", "Dive", "NoTwis", "TUCK"]).somersaults == 0.5


def test_every_parseable_number_round_trips():
    n_ok = 0
    for width in (3, 4):
        for digits in itertools.product("0123456789", repeat=width):
            for letter in "ABCD":
                text = "".join(digits) + letter
                try:
                    lab = D.parse_dive_number(text)
                except ValueError:
                    continue
                n_ok += 1
                assert D.format_dive_number(lab) == text, text
    # groups 1-4: 2 flying x 9 halves x 3 letters (no D) + 4-digit 2 x 10 (halves 10-19) x 3;
    # group 5: 4 x 9 x 9 x 4; group 6: 3 x 9 x 3 + 3 x 9 x 9 x 4
    assert n_ok == 4 * (2 * 9 * 3 + 2 * 10 * 3) + 4 * 9 * 9 * 4 + 3 * 9 * 3 + 3 * 9 * 9 * 4


@pytest.mark.parametrize("number, match", [
    ("7253B", "group digit 7"), ("0253B", "group digit 0"), ("125B", "0 or 1"), ("5053B", "take-off group"),
    ("5603B", "take-off group"), ("5250B", "half-twist"), ("5203B", "half-somersault"), ("103E", "letter"),
    ("103", "3 or 4 digits"), ("12345B", "3 or 4 digits"), ("52B", "3 or 4 digits"), ("100B", "digit 0"),
    ("1053B", "twist digit"), ("525B", "4 digits"), ("600A", "ambiguous"), ("643C", "ambiguous"),
    ("103D", "free"), ("6240B", "half-twist"), ("", "expected"), (5253, "string"),
])
def test_invalid_numbers_name_the_input(number, match):
    with pytest.raises(ValueError, match=match) as e:
        D.parse_dive_number(number)
    assert repr(number) in str(e.value)


def test_format_refuses_numberless_dives():
    with pytest.raises(ValueError, match="free"):
        D.format_dive_number(D.DiveLabel("back", 1.5, 0, "free"))
    with pytest.raises(ValueError, match="4.5 twists"):
        D.format_dive_number(D.DiveLabel("back", 1.5, 5, "free"))
    with pytest.raises(ValueError, match="flying"):
        D.format_dive_number(D.DiveLabel("back", 1.5, 1, "pike", flying=True))
    with pytest.raises(ValueError, match="takeoff"):
        D.DiveLabel("sideways", 1.5, 0, "pike")
    with pytest.raises(ValueError, match="multiple of 0.5"):
        D.DiveLabel("back", 1.25, 0, "pike")
    with pytest.raises(ValueError, match="somersaults=0"):
        D.DiveLabel("back", 0, 0, "pike")


def test_vocab_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "Diving48_vocab.json"
    D.write_diving48_vocab(path)
    rows = json.loads(path.read_text())
    assert rows == [list(r) for r in D.DIVING48_VOCAB]
    assert D.read_diving48_vocab(path) == list(D.DIVING48_LABELS)
    sub = [D.DIVING48_LABELS[3], D.DIVING48_VOCAB[7]]
    D.write_diving48_vocab(path, sub)
    assert D.read_diving48_vocab(path) == [D.DIVING48_LABELS[3], D.DIVING48_LABELS[7]]

    for content, match in [("{}", "non-empty JSON list"), ("[[\"Back\", \"15som\"]]", "4 strings"),
                           ("[[\"Side\", \"15som\", \"NoTwis\", \"PIKE\"]]", "take-off"),
                           ("[[\"Back\", \"1.5som\", \"NoTwis\", \"PIKE\"]]", "somersaults"),
                           ("[[\"Back\", \"15som\", \"NoTwis\", \"LAYOUT\"]]", "position"),
                           ("not json", "not JSON"),
                           (json.dumps([list(D.DIVING48_VOCAB[0])] * 2), "listed twice")]:
        path.write_text(content)
        with pytest.raises(ValueError, match=match) as e:
            D.read_diving48_vocab(path)
        assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError):
        D.read_diving48_vocab(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="same vocab row"):
        D.write_diving48_vocab(path, [D.DIVING48_LABELS[0], D.DIVING48_LABELS[0]])
