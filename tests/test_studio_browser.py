"""The studio end to end in a real headless Chromium (Debian's package, driven by Playwright for Python): create a
project, record a clip through Chromium's fake camera (a rendered clip as .y4m), upload more, annotate frames with
the keyboard, train, test, download the annotated video. Screenshots of each step land in
``$ACTKIT_TEST_ARTIFACTS`` (default ``runs/test-artifacts``)/studio/."""
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("pybullet_data")
pytest.importorskip("ai_edge_litert")

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium", shutil.which("chromium") or "")
                 if p and os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)")


def write_y4m(path: Path, frames: list, fps: int = 16) -> None:
    """Frames (H, W, 3 RGB, even sides) as a YUV4MPEG2 4:2:0 file, what Chromium's fake camera plays."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from actkit.studio.server import create_app

    root = tmp_path_factory.mktemp("studio_root")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(root, test_max_frames=32), host="127.0.0.1", port=port,
                                        log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    while not srv.started:
        time.sleep(0.05)
    yield root, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


def test_studio_flow_in_chromium(server, custom_template, tmp_path):
    from actkit.data.video.sources import read_video

    root, url = server
    art = Path(os.environ.get("ACTKIT_TEST_ARTIFACTS", "runs/test-artifacts")) / "studio"
    art.mkdir(parents=True, exist_ok=True)
    jumps = sorted((custom_template / "videos_train" / "jump").glob("*.mp4"))
    punches = sorted((custom_template / "videos_train" / "punch").glob("*.mp4"))
    y4m = tmp_path / "camera.y4m"
    write_y4m(y4m, read_video(jumps[0]))
    t0 = time.time()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}", "--no-sandbox"])
        page = browser.new_page(accept_downloads=True)
        page.goto(url)
        page.fill("#np-name", "moves")
        page.fill("#np-classes", "jump,punch")
        page.uncheck("#np-background")
        page.click("#np-create")
        page.wait_for_selector("#tabs:not([hidden])")
        page.screenshot(path=str(art / "1-project.png"))

        page.fill("#rec-countdown", "1")
        page.fill("#rec-duration", "2")
        page.select_option("#rec-label", "jump")
        page.click("#camera-on")
        page.wait_for_function("document.querySelector('#preview').videoWidth > 0")
        page.click("#record")
        page.wait_for_function("document.querySelector('#message').textContent.startsWith('saved train/jump')",
                               timeout=30000)
        page.screenshot(path=str(art / "2-recorded.png"))
        rows = "document.querySelectorAll('#video-table tbody tr').length"
        for label, files in (("jump", jumps[1:3]), ("punch", punches[:3])):
            page.select_option("#rec-label", label)
            for f in files:
                before = page.evaluate(rows)
                page.set_input_files("#upload", str(f))
                page.wait_for_function(f"{rows} > {before}")
        assert page.evaluate(rows) == 6, page.text_content("#message")
        recorded = list((root / "moves" / "videos_train" / "jump").glob("*.mp4"))
        assert len(recorded) == 3

        page.click("#tabs button[data-tab=annotate]")
        page.wait_for_selector("#strip .frame")
        page.click("#strip .frame >> nth=2")
        for _ in range(4):
            page.keyboard.press("1")
        page.click("#ann-save")
        page.wait_for_function("document.querySelector('#message').textContent.startsWith('tags saved')")
        page.screenshot(path=str(art / "3-annotated.png"))

        page.click("#tabs button[data-tab=train]")
        page.fill("#tr-epochs", "8")
        page.click("#tr-start")
        page.wait_for_function("document.querySelector('#message').textContent.startsWith('training')",
                               timeout=120000)
        assert page.text_content("#message") == "training done"
        page.wait_for_selector("#tr-confusion:not([hidden])")
        page.screenshot(path=str(art / "4-trained.png"))

        page.click("#tabs button[data-tab=test]")
        page.wait_for_function("document.querySelectorAll('#te-checkpoint option').length === 1")
        page.click("#te-run")
        page.wait_for_selector("#te-download:not([hidden])", timeout=60000)
        with page.expect_download() as dl:
            page.click("#te-download")
        saved = tmp_path / "annotated.mp4"
        dl.value.save_as(saved)
        page.screenshot(path=str(art / "5-tested.png"))
        page.click("#te-camera")  # a clip from the (fake) camera, run and shown, not added to the project
        page.wait_for_function("document.querySelector('#message').textContent === 'test done'"
                               " && document.querySelector('#te-download').href.includes('-clip-')", timeout=60000)
        page.screenshot(path=str(art / "6-camera-test.png"))
        browser.close()
    elapsed = time.time() - t0
    frames = read_video(saved)
    assert len(frames) == 32 and frames[0].shape[2] == 3
    tags = list((root / "moves" / "tags_train" / "jump").glob("*.json"))
    assert len(tags) == 1 and "time_annotation" in tags[0].read_text()
    assert (root / "moves" / "checkpoints" / "best" / "model.onnx").is_file()
    assert len(list((root / "moves" / "tests").glob("best-clip-*/annotated.mp4"))) == 1
    assert len(list((root / "moves").glob("videos_*/*/*.mp4"))) == 6
    (art / "timing.txt").write_text(f"studio flow in Chromium: {elapsed:.1f} s\n")
    assert elapsed < 180, f"the studio flow took {elapsed:.0f} s"
