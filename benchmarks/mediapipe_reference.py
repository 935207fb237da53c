"""Reference landmarks from MediaPipe 0.10.21's own Python solutions, for actkit's parity test.

Run it in a throw-away venv (mediapipe pins numpy < 2, which this stack cannot take):

    python3 -m venv /tmp/mpref && /tmp/mpref/bin/pip install mediapipe==0.10.21
    /tmp/mpref/bin/python benchmarks/mediapipe_reference.py IMAGES.json OUT.json

IMAGES.json is a list of {"name": ..., "path": ...}; OUT.json maps each name to its image size and the pose (33
points: x, y in pixels, visibility), hands (21 points, MediaPipe's handedness label), faces (468 points) and
irises (points 468-477 of the refined face mesh) found in still-image mode. ``benchmarks/parity.sh`` makes
IMAGES.json and writes the fixture the tests read.

``--time PHOTOS_JSON REPEATS`` instead prints the median ms per call of each solution ({"body": [paths],
"hands": [...], "face": [...]}) still (a new solution object per photo, static mode) and tracking (video mode,
the same photo again): what ``actkit bench --perception --reference-python`` compares with.
"""
import json
import sys

import cv2
import mediapipe as mp


def points(landmarks, w, h, n=None, visibility=False):
    pts = list(landmarks.landmark)[:n]
    return [[round(p.x * w, 1), round(p.y * h, 1)] + ([round(p.visibility, 2)] if visibility else []) for p in pts]


def main(images_json, out_json):
    s = mp.solutions
    pose = s.pose.Pose(static_image_mode=True, model_complexity=1)
    hands = s.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1)
    faces = s.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=3, refine_landmarks=False)
    refined = s.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=3, refine_landmarks=True)
    out = {}
    for item in json.load(open(images_json)):
        rgb = cv2.cvtColor(cv2.imread(item["path"]), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        r = {"size": [w, h]}
        p = pose.process(rgb)
        r["pose"] = points(p.pose_landmarks, w, h, visibility=True) if p.pose_landmarks else None
        hd = hands.process(rgb)
        r["hands"] = [{"xy": points(lm, w, h), "label": c.classification[0].label,
                       "score": round(c.classification[0].score, 3)}
                      for lm, c in zip(hd.multi_hand_landmarks or [], hd.multi_handedness or [])]
        f = faces.process(rgb)
        r["faces"] = [points(lm, w, h) for lm in f.multi_face_landmarks or []]
        f = refined.process(rgb)
        r["irises"] = [[[round(q.x * w, 1), round(q.y * h, 1)] for q in list(lm.landmark)[468:478]]
                       for lm in f.multi_face_landmarks or []]
        out[item["name"]] = r
        print(item["name"], "pose" if r["pose"] else "-", len(r["hands"]), "hands", len(r["faces"]), "faces",
              file=sys.stderr)
    json.dump(out, open(out_json, "w"), separators=(",", ":"))


def median_ms(fn, repeats):
    import time

    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def timings(photos, repeats):
    s = mp.solutions
    make = {"body": lambda still: s.pose.Pose(static_image_mode=still, model_complexity=1),
            "hands": lambda still: s.hands.Hands(static_image_mode=still, max_num_hands=1, model_complexity=1),
            "face": lambda still: s.face_mesh.FaceMesh(static_image_mode=still, refine_landmarks=True)}
    names = {"body": "body", "hands": "hands", "face": "face_irises"}
    out = {}
    for part, paths in photos.items():
        for mode in ("still", "tracking"):
            vals = []
            for path in paths:
                rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
                solution = make[part](mode == "still")
                vals.append(median_ms(lambda: solution.process(rgb), repeats))
            out[f"{names[part]}_{mode}"] = round(sum(vals) / len(vals), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "--time":
        timings(json.loads(sys.argv[2]), int(sys.argv[3]))
    else:
        main(*sys.argv[1:3])
