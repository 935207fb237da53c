"""`actkit studio`'s API through FastAPI's TestClient: every route, paths kept inside the project, size and type
checks on uploads, one training job at a time, access token, JSON errors."""
import shutil
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("pybullet_data")
pytest.importorskip("ai_edge_litert")

from fastapi.testclient import TestClient  # noqa: E402

from actkit.studio.server import create_app, serve  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory, custom_template):
    d = tmp_path_factory.mktemp("studio")
    shutil.copytree(custom_template, d / "proj")
    return d


@pytest.fixture(scope="module")
def client(root):
    return TestClient(create_app(root, test_max_frames=24, max_upload_mb=5))


def a_video(root):
    return next((root / "proj" / "videos_train" / "jump").glob("*.mp4"))


def wait(client, job_id, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] != "running":
            return s
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and "actkit studio" in r.text and "/static/app.js" in r.text
    assert "getUserMedia" in client.get("/static/app.js").text
    assert client.get("/static/style.css").status_code == 200
    assert {"exercises", "hands"} <= set(client.get("/api/extractors").json())
    assert client.get("/static/..%2Fserver.py").status_code in (400, 404)
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.json()


def test_projects_create_open_and_classes(client, root):
    r = client.get("/api/projects").json()
    assert r["projects"] == ["proj"]
    r = client.post("/api/projects", json={"name": "gestures", "classes": ["wave", "clap"]})
    assert r.status_code == 201 and list(r.json()["classes"]) == ["wave", "clap", "background"]
    assert client.post("/api/projects", json={"name": "gestures", "classes": ["a", "b"]}).status_code == 409
    assert client.post("/api/projects", json={"name": "../evil", "classes": ["a", "b"]}).status_code == 400
    assert not (root.parent / "evil").exists()
    r = client.post("/api/projects/gestures/classes", json={"name": "point"})
    assert r.status_code == 201 and "point" in r.json()["classes"]
    assert client.post("/api/projects/gestures/classes", json={"name": "point"}).status_code == 400
    r = client.put("/api/projects/gestures/settings", json={"temporal": True, "video_recording": {"countdown": 1,
                                                                                               "recording": 2}})
    assert r.json()["temporal"] and r.json()["recording"] == {"countdown": 1, "recording": 2}
    assert client.get("/api/projects/nosuch").status_code == 404


@pytest.mark.parametrize("path", ["/api/projects/proj/files/..%2F..%2Fetc%2Fpasswd",
                                  "/api/projects/proj/files/%2Fetc%2Fpasswd",
                                  "/api/projects/..%2Fproj/videos",
                                  "/api/projects/proj/videos/train/jump/..%2F..%2Fx/strip",
                                  "/api/projects/proj/videos/train/..%2F..%2F/x/strip"])
def test_traversal_is_refused(client, path):
    r = client.get(path)
    assert r.status_code in (400, 404) and "error" in r.json()
    assert "root:" not in r.text


def test_symlink_out_of_the_project_is_refused(client, root, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    link = root / "proj" / "leak"
    link.symlink_to(tmp_path)
    try:
        r = client.get("/api/projects/proj/files/leak/secret.txt")
        assert r.status_code == 400 and "outside" in r.json()["error"]
    finally:
        link.unlink()


def test_upload_checks_size_and_content(client, root):
    data = a_video(root).read_bytes()
    r = client.post("/api/projects/proj/videos", files={"file": ("clip.mp4", b"text, not video", "video/mp4")},
                    data={"split": "train", "label": "jump"})
    assert r.status_code == 400 and "not a video" in r.json()["error"] and "clip.mp4" in r.json()["error"]
    r = client.post("/api/projects/proj/videos", files={"file": ("big.mp4", b"0" * 6_000_000, "video/mp4")},
                    data={"split": "train", "label": "jump"})
    assert r.status_code == 413
    r = client.post("/api/projects/proj/videos", files={"file": ("x.mp4", data, "video/mp4")},
                    data={"split": "train", "label": "nope"})
    assert r.status_code == 400 and "nope" in r.json()["error"]
    r = client.post("/api/projects/proj/videos", files={"file": ("any-name.bin", data, "application/octet-stream")},
                    data={"split": "valid", "label": "jump", "video": "uploaded"})
    assert r.status_code == 201 and r.json()["frames"] == 32
    assert (root / "proj" / "videos_valid" / "jump" / "uploaded.mp4").is_file()
    r = client.post("/api/projects/proj/videos", files={"file": ("x.mp4", data, "video/mp4")},
                    data={"split": "valid", "label": "jump", "video": "uploaded"})
    assert r.status_code == 409
    assert not list((root / "proj").glob(".upload-*"))
    assert client.delete("/api/projects/proj/videos/valid/jump/uploaded").status_code == 200
    assert not (root / "proj" / "videos_valid" / "jump" / "uploaded.mp4").exists()


def test_strip_frames_and_tags(client, root):
    name = a_video(root).stem
    base = f"/api/projects/proj/videos/train/jump/{name}"
    s = client.get(f"{base}/strip").json()
    assert s["count"] == 16 and s["source"] == "empty" and [t["name"] for t in s["allowed"]] == ["background", "jump"]
    r = client.get(f"{base}/frame/3")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert client.get(f"{base}/frame/99").status_code == 404
    assert client.put(f"{base}/tags", json={"tags": [0, 2]}).status_code == 400
    tags = [0] * 4 + [1] * 12
    assert client.put(f"{base}/tags", json={"tags": tags}).status_code == 200
    s = client.get(f"{base}/strip").json()
    assert s["tags"] == tags and s["source"] == "saved"


def test_assisted_tagging_prefills_from_saved_tags(client, root):
    client.put("/api/projects/proj/settings", json={"assisted_tagging": True})
    try:
        videos = sorted((root / "proj" / "videos_train" / "punch").glob("*.mp4"))
        r = client.put(f"/api/projects/proj/videos/train/punch/{videos[0].stem}/tags", json={"tags": [0] * 3 + [2] * 13})
        assert r.status_code == 200 and r.json()["assistant"]["videos"] == 2
        s = client.get(f"/api/projects/proj/videos/train/punch/{videos[1].stem}/strip").json()
        assert s["source"] == "assisted" and len(s["tags"]) == s["count"] and set(s["tags"]) <= {0, 2}
    finally:
        client.put("/api/projects/proj/settings", json={"assisted_tagging": False})
        for f in (root / "proj").glob("tags_*/*/*.json"):
            f.unlink()


def test_train_one_job_at_a_time_events_test_and_download(client, root):
    r = client.post("/api/projects/proj/train", json={"epochs": 6, "name": "best"})
    assert r.status_code == 202
    job = r.json()["id"]
    busy = client.post("/api/projects/proj/train", json={"epochs": 1})
    assert busy.status_code == 409 and "running" in busy.json()["error"]
    with client.stream("GET", f"/api/jobs/{job}/events") as s:
        lines = [line for line in s.iter_lines() if line.startswith("data:")]
    stages = [line.split('"stage": "')[1].split('"')[0] for line in lines]
    assert stages[0] == "features" and "train" in stages and stages[-1] == "done"
    status = wait(client, job)
    assert status["state"] == "done" and status["result"]["labels"] == ["jump", "punch"]
    summary = client.get("/api/projects/proj").json()
    assert summary["checkpoints"] == ["best"]
    png = client.get("/api/projects/proj/files/checkpoints/best/confusion.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    name = sorted((root / "proj" / "videos_valid" / "punch").glob("*.mp4"))[0].stem
    left = root / "proj" / "tests" / f"best-valid-punch-{name}" / "annotated.partial.mp4"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"a test that was stopped")  # its partial video does not block the next test
    r = client.post("/api/projects/proj/test", json={"split": "valid", "label": "punch", "video": name})
    assert r.status_code == 200, r.text
    assert not left.exists()
    t = r.json()
    assert t["frames"] == 24 and {x["label"] for x in t["labels"]} <= {"jump", "punch"}
    video = client.get(t["download"])
    assert video.status_code == 200 and len(video.content) > 1000
    data = sorted((root / "proj" / "videos_valid" / "jump").glob("*.mp4"))[0].read_bytes()
    r = client.post("/api/projects/proj/test/upload", files={"file": ("camera.webm", data, "video/webm")},
                    data={"checkpoint": "best"})
    assert r.status_code == 200 and r.json()["frames"] == 24 and client.get(r.json()["download"]).status_code == 200
    assert len(client.get("/api/projects/proj/videos").json()) == 10  # the test clip is not training data
    bad = client.post("/api/projects/proj/test/upload", files={"file": ("camera.webm", b"junk", "video/webm")})
    assert bad.status_code == 400 and not list((root / "proj" / "tests").glob("*/*.upload"))
    assert len(list((root / "proj" / "tests").glob("best-clip-*"))) == 1  # the failed clip left nothing
    r = client.post("/api/projects/proj/export", json={"checkpoint": "best"})
    assert r.status_code == 200 and r.json()["path"] == "checkpoints/best/model.onnx"
    assert client.post("/api/projects/proj/test", json={"checkpoint": "none", "split": "valid", "label": "punch",
                                                        "video": name}).status_code == 404


def test_concurrent_train_requests_start_one_job(client):
    codes = []

    def go():
        codes.append(client.post("/api/projects/proj/train", json={"epochs": 2, "name": "race"}).status_code)
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202, 409, 409, 409]
    job = client.app.state.jobs.current
    job.cancel.set()
    assert wait(client, job.id)["state"] in ("cancelled", "done")


def test_token_and_host(root):
    c = TestClient(create_app(root, token="s3cret"))
    assert c.get("/api/projects").status_code == 401
    assert c.get("/api/projects", headers={"X-Studio-Token": "s3cret"}).status_code == 200
    assert c.get("/api/projects?token=wrong").status_code == 401
    page = c.get("/?token=s3cret")
    assert page.status_code == 200 and c.get("/api/projects").status_code == 200  # the cookie the page set
    with pytest.raises(ValueError, match="--token"):
        serve(root, host="0.0.0.0")
