"""The studio's web server (FastAPI): a page with no build step (``static/``) and a JSON API over projects.

Safety: bound to 127.0.0.1 unless ``--host`` says otherwise, which needs an access token (header
``X-Studio-Token``, a ``token`` query parameter or the cookie the page sets); every path a request names is
resolved (symlinks too) and must stay inside the project folder; uploads are capped (413 beyond) and must decode
as video; every error is a JSON ``{"error": ...}`` with a 4xx code (a 500 never carries a traceback).
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from ..custom.project import check_name, check_split, init_project, inside, load_project
from .jobs import Busy, Jobs, fit_assistant, suggest_tags
from .media import STRIP_FPS, Strips, TooLarge, receive_video, test_video

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
LOCAL = {"127.0.0.1", "localhost", "::1"}


def create_app(root: str | Path = ".", project: str | Path | None = None, token: str | None = None,
               max_upload_mb: float = 200.0, test_max_frames: int = 0) -> Any:
    """The studio app. ``root``: where projects are listed and made; ``project``: one to open first (its folder's
    parent becomes ``root``)."""
    if project is not None:
        root = Path(project).resolve().parent
    app = FastAPI(title="actkit studio", docs_url=None, redoc_url=None, openapi_url=None)
    st = app.state
    st.root, st.first = Path(root).resolve(), Path(project).name if project is not None else None
    st.token, st.limit, st.jobs, st.strips = token, int(max_upload_mb * 1e6), Jobs(), Strips()
    st.test_max_frames = test_max_frames

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if st.token is not None:
            given = request.headers.get("x-studio-token") or request.query_params.get("token") \
                or request.cookies.get("studio_token")
            if not given or not secrets.compare_digest(given, st.token):
                return JSONResponse({"error": "access token required"}, status_code=401)
        try:
            return await call_next(request)
        except Exception as e:  # never a traceback page
            log.warning("%s %s failed: %s", request.method, request.url.path, e, exc_info=True)
            return JSONResponse({"error": f"internal error ({type(e).__name__})"}, status_code=500)

    for exc, code in ((ValueError, 400), (FileNotFoundError, 404), (KeyError, 404), (IndexError, 404),
                      (FileExistsError, 409), (Busy, 409), (TooLarge, 413)):
        app.add_exception_handler(exc, _handler(code))
    app.add_exception_handler(RequestValidationError, _handler(422))
    app.add_exception_handler(HTTPException, _handler(0))
    _pages(app)
    _projects(app)
    _videos(app)
    _work(app)
    _results(app)
    return app


def _handler(code: int) -> Any:
    async def handle(request: Any, exc: Exception) -> Any:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, HTTPException):  # unknown routes, wrong methods
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        if code == 422:
            msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": str(msg)}, status_code=code)
    return handle


def check_length(request: Any, limit: int) -> None:
    """Refuse an upload whose declared size is over ``limit`` before reading it (the copy counts bytes too)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + (1 << 16):
        raise TooLarge(f"upload over the limit of {limit / 1e6:g} MB")


def project_of(app_state: Any, name: str) -> Any:
    folder = inside(app_state.root, check_name(name, "project"))
    return load_project(folder)


def _pages(app: Any) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(token: str | None = None) -> Any:
        r = HTMLResponse((STATIC / "index.html").read_text())
        if token:
            r.set_cookie("studio_token", token, httponly=True, samesite="strict")
        return r

    @app.get("/static/{name}")
    def static(name: str) -> Any:
        path = inside(STATIC, check_name(name, "file"))
        if not path.is_file():
            raise FileNotFoundError(f"no static file {name!r}")
        return FileResponse(path)


def _projects(app: Any) -> None:
    st = app.state

    @app.get("/api/extractors")
    def extractor_list() -> Any:
        from ..custom.features import extractors

        return extractors()

    @app.get("/api/projects")
    def projects() -> Any:
        found = sorted(p.parent.name for p in st.root.glob("*/project_config.json"))
        return {"root": str(st.root), "projects": found, "open": st.first}

    @app.post("/api/projects", status_code=201)
    def create(body: dict = Body(...)) -> Any:
        name = check_name(str(body.get("name", "")), "project")
        classes = [c.strip() for c in body.get("classes", []) if str(c).strip()]
        p = init_project(inside(st.root, name), classes, background=bool(body.get("background", True)),
                         temporal=bool(body.get("temporal", False)), name=name)
        return p.summary()

    @app.get("/api/projects/{name}")
    def summary(name: str) -> Any:
        p = project_of(st, name)
        s = p.summary()
        s["checkpoints"] = sorted(d.name for d in (p.root / "checkpoints").glob("*") if (d / "model.pt").is_file())
        return s

    @app.post("/api/projects/{name}/classes", status_code=201)
    def add_class(name: str, body: dict = Body(...)) -> Any:
        p = project_of(st, name)
        tags = body.get("tags")
        p.add_class(str(body.get("name", "")), [str(t) for t in tags] if tags else None)
        return p.summary()

    @app.put("/api/projects/{name}/settings")
    def settings(name: str, body: dict = Body(...)) -> Any:
        p = project_of(st, name)
        if "temporal" in body:
            p.config["temporal"] = bool(body["temporal"])
        if "assisted_tagging" in body:
            p.config["assisted_tagging"] = bool(body["assisted_tagging"])
        rec = body.get("video_recording")
        if rec:
            p.config["video_recording"] = {k: max(0, min(60, int(rec.get(k, d)))) for k, d in
                                           (("countdown", 3), ("recording", 5))}
        p.save()
        return p.summary()


def _videos(app: Any) -> None:
    st = app.state

    @app.get("/api/projects/{name}/videos")
    def videos(name: str) -> Any:
        p = project_of(st, name)
        return [{"split": v.split, "label": v.label, "name": v.name, "file": v.path.name,
                 "tagged": p.tags_file(v.split, v.label, v.name).is_file()} for v in p.videos()]

    @app.post("/api/projects/{name}/videos", status_code=201)
    def upload(name: str, request: Request, file: UploadFile = File(...), split: str = Form("train"),
               label: str = Form(...), video: str = Form("")) -> Any:
        p = project_of(st, name)
        folder = p.video_dir(check_split(split), label)
        check_length(request, st.limit)
        stem = check_name(video or f"{label}_{len(p.videos(split)) + 1:03d}", "video")
        while any(folder.glob(f"{stem}.*")):
            if video:
                raise FileExistsError(f"{split}/{label}/{stem} exists: choose another name")
            stem = f"{stem}_1"
        tmpdir = Path(tempfile.mkdtemp(prefix=".upload-", dir=p.root))
        try:
            info = receive_video(file.file, file.filename, tmpdir / "video.mp4", st.limit)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(str(tmpdir / "video.mp4"), folder / f"{stem}.mp4")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        return {"split": split, "label": label, "name": stem, **info}

    @app.delete("/api/projects/{name}/videos/{split}/{label}/{video}")
    def delete(name: str, split: str, label: str, video: str) -> Any:
        p = project_of(st, name)
        v = p.find(split, label, video)
        v.path.unlink()
        p.tags_file(split, label, video).unlink(missing_ok=True)
        return {"deleted": f"{split}/{label}/{video}"}

    @app.get("/api/projects/{name}/videos/{split}/{label}/{video}/strip")
    def strip(name: str, split: str, label: str, video: str) -> Any:
        p = project_of(st, name)
        v = p.find(split, label, video)
        frames, every = st.strips.frames(v.path)
        tags, source = p.read_tags(v), "saved"
        if tags is not None and len(tags) != len(frames):  # tags at another rate (sense's 4 per second)
            tags = [tags[min(len(tags) - 1, i * len(tags) // len(frames))] for i in range(len(frames))]
        if tags is None and p.config.get("assisted_tagging"):
            tags, source = suggest_tags(p, v, len(frames), every), "assisted"
        if tags is None:
            tags, source = [0] * len(frames), "empty"
        allowed = [{"id": 0, "name": "background"}] + [{"id": i, "name": p.tags[i]} for i in p.class_tags(label)]
        return {"count": len(frames), "fps": STRIP_FPS, "tags": tags, "source": source, "allowed": allowed}

    @app.get("/api/projects/{name}/videos/{split}/{label}/{video}/frame/{i}")
    def frame(name: str, split: str, label: str, video: str, i: int) -> Any:
        v = project_of(st, name).find(split, label, video)
        return Response(st.strips.jpeg(v.path, i), media_type="image/jpeg")

    @app.put("/api/projects/{name}/videos/{split}/{label}/{video}/tags")
    def save_tags(name: str, split: str, label: str, video: str, body: dict = Body(...)) -> Any:
        p = project_of(st, name)
        v = p.find(split, label, video)
        path = p.write_tags(v, body.get("tags") or [], STRIP_FPS)
        assisted = None
        if p.config.get("assisted_tagging"):
            try:
                assisted = fit_assistant(p)
            except (ValueError, OSError, RuntimeError) as e:
                assisted = {"error": str(e)}
        return {"saved": str(path.relative_to(p.root.resolve())), "assistant": assisted}


def _work(app: Any) -> None:
    st = app.state

    @app.post("/api/projects/{name}/train", status_code=202)
    def train(name: str, body: dict = Body(default={})) -> Any:
        from ..custom.train import CustomConfig, train_custom

        p = project_of(st, name)
        cfg = CustomConfig(extractor=str(body.get("extractor", "exercises")), finetune=int(body.get("finetune", 0)),
                           epochs=max(1, min(500, int(body.get("epochs", 60)))),
                           temporal=body.get("temporal"), name=check_name(str(body.get("name", "best")), "name"),
                           overwrite=True, flip=bool(body.get("flip", False)))
        job = st.jobs.start("train", p.name, lambda report, cancel: train_custom(p, cfg, report, cancel))
        return job.status()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> Any:
        return st.jobs.get(job_id).status()

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> Any:
        j = st.jobs.get(job_id)
        j.cancel.set()
        return j.status()

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str) -> Any:
        j = st.jobs.get(job_id)

        async def feed() -> Any:
            sent = 0
            while True:
                while sent < len(j.events):
                    yield f"data: {json.dumps(j.events[sent], default=str)}\n\n"
                    sent += 1
                if j.state != "running" and sent >= len(j.events):
                    return
                await asyncio.sleep(0.2)
        return StreamingResponse(feed(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})



def _results(app: Any) -> None:
    st = app.state

    def trained(p: Any, checkpoint: str) -> Path:
        ckpt = p.checkpoint_dir(checkpoint)
        if not (ckpt / "model.pt").is_file():
            raise FileNotFoundError(f"no trained classifier checkpoints/{ckpt.name}: train first")
        return ckpt

    def tested(name: str, p: Any, ckpt: Path, video: Path, out: Path) -> Any:
        r = test_video(ckpt, video, out, st.test_max_frames)
        r["download"] = f"/api/projects/{name}/files/{out.relative_to(p.root.resolve())}/annotated.mp4"
        return r

    @app.post("/api/projects/{name}/test")
    def test(name: str, body: dict = Body(...)) -> Any:
        p = project_of(st, name)
        ckpt = trained(p, str(body.get("checkpoint", "best")))
        v = p.find(str(body.get("split", "valid")), str(body.get("label", "")), str(body.get("video", "")))
        return tested(name, p, ckpt, v.path, inside(p.root, "tests", f"{ckpt.name}-{v.split}-{v.label}-{v.name}"))

    @app.post("/api/projects/{name}/test/upload")
    def test_upload(name: str, request: Request, file: UploadFile = File(...), checkpoint: str = Form("best")) -> Any:
        """A clip from the camera (or any file) run through a trained classifier; kept under tests/, not in the
        training data."""
        p = project_of(st, name)
        ckpt = trained(p, checkpoint)
        check_length(request, st.limit)
        out = inside(p.root, "tests", f"{ckpt.name}-clip-{len(list((p.root / 'tests').glob('*-clip-*'))) + 1:03d}")
        out.mkdir(parents=True, exist_ok=True)
        try:
            receive_video(file.file, file.filename, out / "clip.mp4", st.limit)
        except ValueError:
            shutil.rmtree(out, ignore_errors=True)
            raise
        return tested(name, p, ckpt, out / "clip.mp4", out)

    @app.post("/api/projects/{name}/export")
    def export(name: str, body: dict = Body(default={})) -> Any:
        from ..custom.train import export_custom

        p = project_of(st, name)
        info = export_custom(p.checkpoint_dir(str(body.get("checkpoint", "best"))))
        return {**info, "path": str(Path(info["path"]).relative_to(p.root.resolve()))}

    @app.get("/api/projects/{name}/files/{path:path}")
    def files(name: str, path: str) -> Any:
        p = project_of(st, name)
        target = inside(p.root, *[part for part in path.split("/") if part])
        if not target.is_file():
            raise FileNotFoundError(f"no file {path!r} in the project")
        return FileResponse(target, filename=target.name)


def serve(root: str | Path = ".", project: str | Path | None = None, host: str = "127.0.0.1", port: int = 8000,
          token: str | None = None, max_upload_mb: float = 200.0) -> None:
    """Run the studio until interrupted.

    Raises:
        ValueError: a non-local ``host`` without a ``token``.
        ImportError: the studio extra is not installed.
    """
    try:
        import uvicorn
    except ImportError as e:
        raise ImportError("the studio needs its extra: pip install 'actkit[studio]'") from e
    if host not in LOCAL:
        if not token:
            raise ValueError(f"--host {host} makes the studio reachable from other machines: give --token SECRET "
                             "(every request must carry it)")
        log.warning("studio reachable from other machines at %s:%d; requests need the access token", host, port)
    app = create_app(root, project, token, max_upload_mb)
    print(f"actkit studio on http://{host}:{port}/" + (f"?token={token}" if token else ""))
    uvicorn.run(app, host=host, port=port, log_level="warning")
