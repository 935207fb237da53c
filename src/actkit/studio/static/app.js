// actkit studio: plain JavaScript, no build step. Talks to the JSON API of actkit.studio.server.
"use strict";
const $ = (sel) => document.querySelector(sel);
const S = { project: null, summary: null, videos: [], strip: null, sel: 0, anchor: null, stream: null };

function say(text, error = false) {
  const m = $("#message");
  m.textContent = text;
  m.className = error ? "error" : "";
}

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(url, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok) throw new Error((data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

function guarded(fn) {
  return async (...args) => { try { await fn(...args); } catch (e) { say(e.message, true); } };
}

const P = () => `/api/projects/${encodeURIComponent(S.project)}`;
const V = (v) => `${P()}/videos/${v.split}/${encodeURIComponent(v.label)}/${encodeURIComponent(v.name)}`;

// ---------------------------------------------------------------- projects

async function loadProjects() {
  const r = await api("GET", "/api/projects");
  const ul = $("#project-list");
  ul.innerHTML = "";
  for (const name of r.projects) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = name;
    b.onclick = guarded(() => openProject(name));
    li.append(b);
    ul.append(li);
  }
  if (r.open && r.projects.includes(r.open) && !S.project) await openProject(r.open);
  else if (r.open && !r.projects.includes(r.open)) $("#np-name").value = r.open;
}

async function openProject(name) {
  S.project = name;
  await refresh();
  $("#projects").hidden = true;
  $("#tabs").hidden = false;
  $("#project-name").textContent = name;
  showTab("videos");
}

function fill(sel, html) {  // new options, the chosen one kept when it is still there
  const el = $(sel);
  const keep = el.value;
  el.innerHTML = html;
  if ([...el.options].some((o) => o.value === keep)) el.value = keep;
}

async function refresh() {
  S.summary = await api("GET", P());
  S.videos = await api("GET", `${P()}/videos`);
  const classes = Object.keys(S.summary.classes);
  fill("#rec-label", classes.map((c) => `<option>${c}</option>`).join(""));
  $("#rec-countdown").value = S.summary.recording.countdown;
  $("#rec-duration").value = S.summary.recording.recording;
  $("#tr-temporal").checked = S.summary.temporal;
  const rows = S.videos.map((v, i) => `<tr><td>${v.split}</td><td>${v.label}</td><td>${v.name}</td>
    <td>${v.tagged ? "tagged" : ""}</td><td><button data-del="${i}">delete</button></td></tr>`);
  $("#video-table tbody").innerHTML = rows.join("");
  const opts = S.videos.map((v, i) => `<option value="${i}">${v.split}/${v.label}/${v.name}</option>`).join("");
  fill("#ann-video", opts);
  fill("#te-video", opts);
  fill("#te-checkpoint", S.summary.checkpoints.map((c) => `<option>${c}</option>`).join(""));
}

$("#new-project").onsubmit = guarded(async (e) => {
  e.preventDefault();
  const body = { name: $("#np-name").value.trim(), classes: $("#np-classes").value.split(","),
                 background: $("#np-background").checked, temporal: $("#np-temporal").checked };
  await api("POST", "/api/projects", body);
  say(`project ${body.name} created`);
  await openProject(body.name);
});

$("#new-class").onsubmit = guarded(async (e) => {
  e.preventDefault();
  await api("POST", `${P()}/classes`, { name: $("#nc-name").value.trim() });
  $("#nc-name").value = "";
  await refresh();
});

$("#video-table").onclick = guarded(async (e) => {
  const i = e.target.dataset.del;
  if (i === undefined) return;
  const v = S.videos[+i];
  if (!confirm(`Delete ${v.split}/${v.label}/${v.name} and its tags?`)) return;
  await api("DELETE", V(v));
  await refresh();
});

function showTab(name) {
  document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.id !== name; });
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  if (name === "annotate" && S.videos.length) loadStrip().catch((e) => say(e.message, true));
}
document.querySelectorAll("#tabs button").forEach((b) => { b.onclick = () => showTab(b.dataset.tab); });

// ---------------------------------------------------------------- record and upload

$("#camera-on").onclick = guarded(async () => {
  S.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  $("#preview").srcObject = S.stream;
  $("#record").disabled = false;
  say("camera on");
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function recordClip(show) {  // countdown, then the set duration from the camera, as a webm blob
  if (!S.stream) {
    S.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    $("#preview").srcObject = S.stream;
  }
  for (let s = +$("#rec-countdown").value; s > 0; s--) { show(`${s}`); await sleep(1000); }
  show("recording");
  const chunks = [];
  const rec = new MediaRecorder(S.stream, { mimeType: "video/webm" });
  rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  const stopped = new Promise((r) => { rec.onstop = r; });
  rec.start(250);
  await sleep(1000 * +$("#rec-duration").value);
  rec.stop();
  await stopped;
  return new Blob(chunks, { type: "video/webm" });
}

$("#record").onclick = guarded(async () => {
  $("#record").disabled = true;
  try {
    const blob = await recordClip((t) => { $("#countdown").textContent = t; });
    $("#countdown").textContent = "uploading";
    await uploadBlob(blob, "recording.webm");
  } finally {
    $("#countdown").textContent = "";
    $("#record").disabled = false;
  }
});

async function uploadBlob(blob, filename) {
  const fd = new FormData();
  fd.append("file", blob, filename);
  fd.append("split", $("#rec-split").value);
  fd.append("label", $("#rec-label").value);
  const r = await api("POST", `${P()}/videos`, fd);
  say(`saved ${r.split}/${r.label}/${r.name} (${r.frames} frames)`);
  await refresh();
}

const saveRecording = guarded(async () => {
  await api("PUT", `${P()}/settings`, { video_recording: { countdown: +$("#rec-countdown").value,
                                                          recording: +$("#rec-duration").value } });
});
$("#rec-countdown").oninput = saveRecording;
$("#rec-duration").oninput = saveRecording;

$("#upload").onchange = guarded(async (e) => {
  const f = e.target.files[0];
  if (f) await uploadBlob(f, f.name);
  e.target.value = "";
});

// ---------------------------------------------------------------- annotate

async function loadStrip() {
  const v = S.videos[+$("#ann-video").value];
  if (!v) return;
  S.strip = { video: v, ...(await api("GET", `${V(v)}/strip`)) };
  S.sel = 0;
  S.anchor = null;
  $("#tag-keys").innerHTML = S.strip.allowed.map((t, k) => `<span>${k} = ${t.name}</span>`).join("");
  const box = $("#strip");
  box.innerHTML = "";
  for (let i = 0; i < S.strip.count; i++) {
    const d = document.createElement("div");
    d.className = "frame";
    d.dataset.i = i;
    d.innerHTML = `<img loading="lazy" src="${V(v)}/frame/${i}"><span></span>`;
    d.onclick = (e) => select(i, e.shiftKey);
    box.append(d);
  }
  paint();
  say(`${S.strip.count} frames, tags ${S.strip.source}`);
}

function paint() {
  const names = Object.fromEntries(S.strip.allowed.map((t, k) => [t.id, [k, t.name]]));
  document.querySelectorAll("#strip .frame").forEach((d) => {
    const tag = S.strip.tags[+d.dataset.i];
    const [k, name] = names[tag] || [0, "background"];
    d.className = `frame tag${k}` + (+d.dataset.i === S.sel ? " sel" : "");
    d.querySelector("span").textContent = name;
  });
}

function select(i, range) {
  if (range && S.anchor !== null) {
    const tag = S.strip.tags[S.anchor];
    for (let j = Math.min(i, S.anchor); j <= Math.max(i, S.anchor); j++) S.strip.tags[j] = tag;
  } else S.anchor = i;
  S.sel = i;
  paint();
}

document.addEventListener("keydown", (e) => {
  if ($("#annotate").hidden || !S.strip || e.target.tagName === "INPUT") return;
  if (e.key === "ArrowRight") S.sel = Math.min(S.strip.count - 1, S.sel + 1);
  else if (e.key === "ArrowLeft") S.sel = Math.max(0, S.sel - 1);
  else if (/^[0-9]$/.test(e.key) && +e.key < S.strip.allowed.length) {
    S.strip.tags[S.sel] = S.strip.allowed[+e.key].id;
    S.anchor = S.sel;
    S.sel = Math.min(S.strip.count - 1, S.sel + 1);
  } else return;
  e.preventDefault();
  paint();
});

$("#ann-video").onchange = guarded(loadStrip);
$("#ann-assist").onchange = guarded(async (e) => {
  await api("PUT", `${P()}/settings`, { assisted_tagging: e.target.checked });
});
$("#ann-save").onclick = guarded(async () => {
  const r = await api("PUT", `${V(S.strip.video)}/tags`, { tags: S.strip.tags });
  say(`tags saved (${r.saved})`);
  await refresh();
});

// ---------------------------------------------------------------- train

$("#tr-start").onclick = guarded(async () => {
  const body = { extractor: $("#tr-extractor").value, finetune: +$("#tr-finetune").value,
                 epochs: +$("#tr-epochs").value, temporal: $("#tr-temporal").checked, flip: $("#tr-flip").checked,
                 name: $("#tr-name").value };
  const job = await api("POST", `${P()}/train`, body);
  $("#tr-log").textContent = "";
  $("#tr-confusion").hidden = true;
  $("#tr-cancel").disabled = false;
  $("#tr-cancel").onclick = guarded(() => api("POST", `/api/jobs/${job.id}/cancel`));
  const es = new EventSource(`/api/jobs/${job.id}/events`);
  es.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const log = $("#tr-log");
    if (e.stage === "features") {
      $("#tr-progress").value = e.done / e.total * 0.5;
      log.textContent += `features ${e.split} ${e.done}/${e.total}\n`;
    } else if (e.stage === "train") {
      $("#tr-progress").value = 0.5 + 0.5 * e.epoch / e.epochs;
      log.textContent += `epoch ${e.epoch}: train loss ${e.train_loss} val loss ${e.val_loss} val accuracy ${e.val_accuracy}\n`;
    } else {
      log.textContent += `${e.stage}${e.error ? ": " + e.error : ""}${e.accuracy !== undefined ? ": accuracy " + e.accuracy.toFixed(3) : ""}\n`;
      if (["done", "failed", "cancelled"].includes(e.stage) && e.out === undefined) {
        es.close();
        $("#tr-cancel").disabled = true;
        if (e.stage === "done") {
          $("#tr-progress").value = 1;
          $("#tr-confusion").src = `${P()}/files/checkpoints/${encodeURIComponent(body.name)}/confusion.png?${Date.now()}`;
          $("#tr-confusion").hidden = false;
          refresh();
        }
        say(`training ${e.stage}`, e.stage === "failed");
      }
    }
    log.scrollTop = log.scrollHeight;
  };
});

// ---------------------------------------------------------------- test

function showTest(r) {
  const counts = {};
  r.labels.forEach((l) => { counts[l.label] = (counts[l.label] || 0) + 1; });
  const colour = (l) => `hsl(${(r.classes.indexOf(l) * 67) % 360} 60% 50%)`;
  const strip = r.labels.map((l) => `<span title="frame ${l.frame}: ${l.label} ${l.confidence}"
    style="background:${colour(l.label)};opacity:${0.3 + 0.7 * l.confidence}"></span>`).join("");
  const events = r.events.map((e) => `<li>${e.label}: frames ${e.start_frame}-${e.end_frame}</li>`).join("");
  $("#te-result").innerHTML = `<p>${r.frames} frames: ` +
    Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ") + `; ${r.events.length} events</p>` +
    `<div class="timeline">${strip}</div><p class="hint">` +
    r.classes.map((c) => `<span style="color:${colour(c)}">&#9632;</span> ${c}`).join(" ") +
    `</p><ul id="te-events">${events}</ul>`;
  const out = $("#te-video-out");
  out.src = r.download;
  out.hidden = false;
  const a = $("#te-download");
  a.href = r.download;
  a.hidden = false;
  say("test done");
}

$("#te-run").onclick = guarded(async () => {
  const v = S.videos[+$("#te-video").value];
  say("running the classifier...");
  showTest(await api("POST", `${P()}/test`, { split: v.split, label: v.label, video: v.name,
                                             checkpoint: $("#te-checkpoint").value }));
});

$("#te-camera").onclick = guarded(async () => {
  const blob = await recordClip((t) => say(`camera: ${t}`));
  const fd = new FormData();
  fd.append("file", blob, "camera.webm");
  fd.append("checkpoint", $("#te-checkpoint").value);
  say("running the classifier...");
  showTest(await api("POST", `${P()}/test/upload`, fd));
});

$("#te-export").onclick = guarded(async () => {
  const r = await api("POST", `${P()}/export`, { checkpoint: $("#te-checkpoint").value });
  say(`exported ${r.path}`);
});

api("GET", "/api/extractors").then((ex) => {
  $("#extractor-list").innerHTML = Object.entries(ex).map(([k, v]) => `<option value="${k}">${v}</option>`).join("");
}).catch((e) => say(e.message, true));
loadProjects().catch((e) => say(e.message, true));
