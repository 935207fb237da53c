"""Atomic writes, optional-dependency errors, the progress helper."""
import os
import stat

import pytest

from actkit.utils import atomic_write, atomic_write_json, require
from actkit.utils.progress import progress, progress_enabled


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "ckpt.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"half-written")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.bin"]  # no temporary left behind


def test_atomic_write_replaces_and_follows_umask(tmp_path):
    target = tmp_path / "sub" / "summary.json"
    atomic_write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_require_names_the_install_command():
    with pytest.raises(ImportError, match=r"pip install 'actkit\[studio\]'"):
        require("fastapi_does_not_exist_here", extra="studio")
    assert require("json").dumps([]) == "[]"


def test_progress_off_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv("ACTKIT_PROGRESS", raising=False)
    assert progress_enabled() is False  # pytest captures stderr: not a TTY
    assert list(progress(range(3))) == [0, 1, 2]
    monkeypatch.setenv("ACTKIT_PROGRESS", "1")
    assert progress_enabled() is True


def test_progress_logs_now_and_then_without_a_terminal(monkeypatch, caplog):
    from actkit.utils.progress import LogProgress

    monkeypatch.delenv("ACTKIT_PROGRESS", raising=False)
    monkeypatch.setenv("ACTKIT_PROGRESS_LOG_S", "30")
    bar = progress(range(4), desc="epoch 1/2", unit="batch")
    assert isinstance(bar, LogProgress) and bar.every_s == 30.0
    bar.every_s = 0.0  # a line on every step, whatever the clock does
    with caplog.at_level("INFO", logger="actkit.progress"):
        got = []
        for x in bar:
            got.append(x)
            bar.set_postfix(loss="0.5")
    assert got == [0, 1, 2, 3]
    assert any("epoch 1/2: 4/4 batch (100 %)" in r.message and "loss 0.5" in r.message for r in caplog.records)
    assert not isinstance(progress(range(2), enable=False), LogProgress)  # an explicit off is silent
    monkeypatch.setenv("ACTKIT_PROGRESS_LOG_S", "0")
    assert not isinstance(progress(range(2)), LogProgress)
    with LogProgress(total=None, desc="x", every_s=1e9) as p:
        p.update(3)
        assert p.line().startswith("x: 3 it")
