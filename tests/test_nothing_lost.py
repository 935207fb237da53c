"""Nothing already written is lost: a used run folder is refused or moved aside whole, and a process killed in
the middle of a write leaves the old file as it was, for every kind of file a long job depends on."""
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actkit.cli import main


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_training_into_a_used_folder_is_refused_and_leaves_it_byte_identical(trained_run, shapes_parquet, capsys):
    before = _digest(trained_run)
    code = main(["train", "--data", str(shapes_parquet), "--epochs", "1", "--out", str(trained_run)])
    assert code == 2
    err = capsys.readouterr().err
    assert str(trained_run) in err and "--resume auto" in err and "--overwrite" in err
    assert _digest(trained_run) == before


def test_overwrite_moves_the_old_run_aside_whole(shapes_parquet, tmp_path):
    from conftest import train_tiny

    out = tmp_path / "run"
    train_tiny(shapes_parquet, out, optim__epochs=1)
    first = _digest(out)
    assert main(["train", "--data", str(shapes_parquet), "--epochs", "1", "--out", str(out), "--overwrite",
                 "--run.plots", "false", "--run.tensorboard", "false", "--batch-size", "8"]) == 0
    assert _digest(tmp_path / "run.1") == first  # the old run, untouched and complete
    assert (out / "checkpoints" / "best.pt").is_file() and (out / "summary.json").is_file()
    # a second overwrite finds the next free name
    assert main(["train", "--data", str(shapes_parquet), "--epochs", "1", "--out", str(out), "--overwrite",
                 "--run.plots", "false", "--run.tensorboard", "false", "--batch-size", "8"]) == 0
    assert (tmp_path / "run.2").is_dir() and _digest(tmp_path / "run.1") == first


def test_resume_auto_continues_in_the_same_folder(shapes_parquet, tmp_path):
    from conftest import train_tiny

    out = tmp_path / "run"
    train_tiny(shapes_parquet, out, optim__epochs=1)
    _, summary = train_tiny(shapes_parquet, out, optim__epochs=2, run__resume="auto")
    assert summary["epochs"] == 2 and not (tmp_path / "run.1").exists()


# Each writer is started in a child process that is killed (SIGKILL) half-way through writing the new
# content: after the kill, the target must still hold the old bytes, whole.
WRITERS = {
    "checkpoint": """
        import torch
        from actkit.engine.checkpoint import write_checkpoint
        write_checkpoint(TARGET, {"model_name": "m", "state_dict": {"w": torch.zeros(4_000_000)}})
    """,
    "dataset": """
        import numpy as np, pyarrow as pa
        from actkit.utils.io import atomic_write_parquet
        atomic_write_parquet(TARGET, pa.table({"x": np.arange(4_000_000)}))
    """,
    "cache": """
        import numpy as np
        from actkit.data.video.cache import FrameCache
        cache = FrameCache(TARGET.parent)
        cache.entry = lambda path: TARGET
        cache.put("video.mp4", np.zeros((96, 256, 256, 3), np.uint8))
    """,
    "report": """
        from actkit.utils.io import atomic_write_json
        atomic_write_json(TARGET, {"rows": list(range(2_000_000))})
    """,
    "export": """
        from actkit.engine.exporter import export_model
        from actkit.models import create_model
        export_model(create_model("fastcrop_l", num_classes=3), ["a", "b", "c"], TARGET, do_simplify=False)
    """,
}

# A watcher thread kills the process as soon as the temporary file the writer fills has any bytes in it:
# the new content is on its way, not yet complete or renamed.
KILL_MIDWAY = """
import os, signal, sys, threading, time
from pathlib import Path
TARGET = Path(sys.argv[1])

def watch():
    while True:
        for p in TARGET.parent.glob("." + TARGET.stem + ".*"):
            try:
                if p.stat().st_size > 0:
                    os.kill(os.getpid(), signal.SIGKILL)
            except FileNotFoundError:
                pass
        time.sleep(0.0002)

threading.Thread(target=watch, daemon=True).start()
"""


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_kill_in_the_middle_of_a_write_leaves_the_old_file(kind, tmp_path):
    suffix = {"checkpoint": ".pt", "dataset": ".parquet", "cache": ".npy", "report": ".json", "export": ".onnx"}[kind]
    target = tmp_path / f"artifact{suffix}"
    old = b"the complete earlier file\n" * 10
    target.write_bytes(old)
    script = KILL_MIDWAY + textwrap.dedent(WRITERS[kind])
    proc = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, timeout=300)
    assert proc.returncode == -9, (kind, proc.returncode, proc.stderr.decode()[-2000:])  # killed mid-write
    assert target.read_bytes() == old
    # and without the kill the same writer replaces it (so the kill did land inside this write)
    done = subprocess.run([sys.executable, "-c", "import sys\nfrom pathlib import Path\nTARGET = Path(sys.argv[1])\n"
                           + textwrap.dedent(WRITERS[kind]), str(target)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert target.read_bytes() != old


def test_an_output_file_that_exists_is_refused_unless_overwrite(tmp_path, capsys):
    """JSON lines and annotated videos of an earlier run are not written over without --overwrite."""
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    photo, video = str(sample_path("messi5.jpg")), str(sample_path("vtest.avi"))
    commands = {"--out": ["keypoints", photo, "--out"], "--annotate": ["app", "fitness", "--source", photo, "--annotate"],
                "--jsonl": ["stream", "--model", "posture", "--source", video, "--max-frames", "3", "--jsonl"],
                "--out-video": ["stream", "--model", "posture", "--source", video, "--max-frames", "3", "--out-video"]}
    for flag, argv in commands.items():
        old = tmp_path / ("old.mp4" if flag in ("--annotate", "--out-video") else "old.jsonl")
        old.write_text("an earlier run\n")
        assert main(argv + [str(old)]) == 2, argv
        assert f"{old.name} ({flag}) exists" in capsys.readouterr().err and old.read_text() == "an earlier run\n"
        assert main(argv + [str(old), "--overwrite"]) == 0, argv
        assert old.read_bytes() != b"an earlier run\n"
    folder = tmp_path / "a_folder"
    folder.mkdir()
    assert main(["app", "gestures", "--source", photo, "--jsonl", str(folder), "--overwrite"]) == 2
    assert "is a folder" in capsys.readouterr().err
