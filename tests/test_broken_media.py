"""A corpus of broken media made here (zero bytes, truncated at several offsets, a wrong extension, an mp4
without its index, garbage, absurd dimensions in a header, a video without frames) through every verb that
reads media: each file alone is one clean error naming it; in a folder it is skipped and the run goes on."""
import struct
import zlib

import numpy as np
import pytest

from actkit.cli import main

cv2 = pytest.importorskip("cv2")
av = pytest.importorskip("av")


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from conftest import write_video

    d = tmp_path_factory.mktemp("broken")
    good = write_video(d / "good.mp4", [np.full((48, 64, 3), 9 * i, np.uint8) for i in range(24)])
    data = good.read_bytes()
    mkv = write_video(d / "good.mkv", [np.full((48, 64, 3), 9 * i, np.uint8) for i in range(24)], "MJPG").read_bytes()
    files = {
        "zero.mp4": b"",
        "garbage.mp4": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "head.mp4": data[:64],
        "half.mp4": data[: len(data) // 2],  # OpenCV writes the index (moov) last: half a file has none
        "nomoov.mp4": data[: data.rfind(b"moov") - 4] if b"moov" in data else data[:-200],
        "mkv_cut.mkv": mkv[: len(mkv) // 3],
        "png_as.mp4": cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(),
        "mp4_as.png": data,
        "huge.png": _png_header(100_000, 100_000),
        "huge.y4m": b"YUV4MPEG2 W100000 H100000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x00" * 64,
        "zero.png": b"",
    }
    for name, blob in files.items():
        (d / name).write_bytes(blob)
    empty = cv2.VideoWriter(str(d / "noframes.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    empty.release()  # a container with headers and no frame
    (d / "good.mp4").unlink()
    (d / "good.mkv").unlink()
    return d


BROKEN_VIDEOS = ["zero.mp4", "garbage.mp4", "head.mp4", "half.mp4", "nomoov.mp4", "png_as.mp4", "huge.y4m",
                 "noframes.mp4"]
BROKEN_IMAGES = ["huge.png", "zero.png", "mp4_as.png"]


def _clean(code: int, err: str, name: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1 and name in err, err


@pytest.mark.parametrize("name", BROKEN_VIDEOS + BROKEN_IMAGES)
def test_each_broken_file_is_one_error_on_every_verb(corpus, trained_run, name, capsys):
    crop = str(trained_run / "checkpoints" / "best.pt")
    f = str(corpus / name)
    for argv in (["predict", f, "--model", crop], ["stream", "--model", "stream_fast_s", "--source", f]):
        code = main(argv)
        _clean(code, capsys.readouterr().err, name)


def test_the_sequential_and_the_seeking_reader_refuse_them(corpus):
    from actkit.data.video import VideoDecodeError, VideoReader
    from actkit.data.video.sources import iter_video

    for name in BROKEN_VIDEOS:
        with pytest.raises((ValueError, FileNotFoundError), match=name.replace(".", r"\.")):
            list(iter_video(corpus / name))
        with pytest.raises(VideoDecodeError):
            with VideoReader(corpus / name) as r:
                r.get_frames([0, 1])


def test_a_truncated_matroska_plays_what_it_has_and_warns(corpus, caplog):
    import logging

    from actkit.data.video.sources import iter_video

    with caplog.at_level(logging.WARNING):
        n = len(list(iter_video(corpus / "mkv_cut.mkv")))
    assert 0 < n < 24 and "frames its container lists" in caplog.text


def test_in_a_folder_they_are_skipped_and_the_run_goes_on(corpus, trained_run, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in BROKEN_IMAGES:
        (folder / name).write_bytes((corpus / name).read_bytes())
    cv2.imwrite(str(folder / "fine.png"), np.full((40, 30, 3), 120, np.uint8))
    out = tmp_path / "pred.jsonl"
    assert main(["predict", str(folder), "--model", str(trained_run / "checkpoints" / "best.pt"),
                 "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and "fine.png" in lines[0]


def test_a_video_dataset_lists_them_as_skipped(corpus, tmp_path):
    from conftest import write_video

    from actkit.data.video import ClipDataset, read_videos
    from actkit.models import create_model

    root = tmp_path / "ds"
    for k, name in enumerate(BROKEN_VIDEOS):
        cls = "a" if k % 2 else "b"
        (root / cls).mkdir(parents=True, exist_ok=True)
        (root / cls / f"v_{cls}_g{k:02d}_c01.mp4").write_bytes((corpus / name).read_bytes())
    write_video(root / "a" / "v_a_g99_c01.mp4", [np.full((48, 64, 3), 9 * i, np.uint8) for i in range(12)])
    table = read_videos(root, split=1, fractions={"train": 1.0, "val": 0.0, "test": 0.0})
    cfg = create_model("clip_fast_p", num_classes=2, input_size=(32, 32), num_frames=4).data_cfg
    ds = ClipDataset(table, cfg, "uniform")
    ds.validate()
    assert len(ds.skipped) == len(BROKEN_VIDEOS) and all(reason for _, reason in ds.skipped)
    assert [r.path for r in ds.table.records] == [str((root / "a" / "v_a_g99_c01.mp4").resolve())]
    with pytest.raises(ValueError, match="none of the"):  # nothing readable at all: one clear error
        only_broken = read_videos(root, split=1, fractions={"train": 1.0, "val": 0.0, "test": 0.0})
        only_broken.records = [r for r in only_broken.records if "g99" not in r.path]
        ClipDataset(only_broken, cfg, "uniform").validate()
