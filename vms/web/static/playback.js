// Playback: a day's timeline of one camera (recorded ranges, gaps, events); click to play.
// Each segment file plays on its own (fragmented MP4 over HTTP range requests); at its end
// the next one starts if it follows without a gap, so a continuous range plays through.
"use strict";

const form = document.getElementById("pick");
const bar = document.getElementById("timeline");
const video = document.getElementById("video");
const errorBox = document.getElementById("playback-error");
const reasonBox = form.querySelector(".reason");
const download = document.getElementById("download");
let day = null;          // the loaded timeline
let current = null;      // { seg, startMs }
let view = null;         // [from, to] in ms: the whole day, or fitted to what was recorded

function ms(iso) { return iso ? Date.parse(iso) : Date.now(); }
function span() { return view[1] - view[0]; }
function pct(t) { return `${(100 * (t - view[0]) / span()).toFixed(4)}%`; }

function fitView(whole) {
  const from = ms(day.day_start), to = ms(day.day_end);
  const items = [...day.segments, ...day.gaps];
  if (whole || !items.length) { view = [from, to]; return; }
  const first = Math.min(...items.map((x) => ms(x.start)));
  const last = Math.max(...items.map((x) => Math.min(ms(x.end), to)));
  const pad = Math.max(60000, (last - first) * 0.05);
  view = [Math.max(from, first - pad), Math.min(to, last + pad)];
}
function custody() { return form.elements.camera.selectedOptions[0]?.dataset.custody === "yes"; }
function reason() { return form.elements.reason.value.trim(); }

function block(cls, start, end, title) {
  const s = Math.max(ms(start), view[0]);
  const e = Math.min(ms(end), view[1]);
  const node = el("div", { class: cls, title });
  node.style.left = pct(s);
  node.style.width = `${Math.max(0.05, (100 * (e - s)) / span())}%`;
  return node;
}

function draw() {
  const hours = el("div", { class: "hours" });
  for (let i = 0; i <= 8; i++) {
    const t = view[0] + (span() * i) / 8;
    const label = new Date(t).toISOString().slice(11, span() > 3 * 3600000 ? 16 : 19);
    const tick = el("span", {}, label);
    tick.style.left = `${(100 * i) / 8}%`;
    hours.append(tick);
  }
  const parts = [hours];
  for (const s of day.segments) parts.push(block("seg", s.start, s.end, `${utc(s.start)} – ${utc(s.end)}`));
  for (const g of day.gaps) parts.push(block("gap", g.start, g.end, `gap: ${g.reason}`));
  for (const e of day.events) {
    const m = el("div", { class: "ev", title: `${e.type} ${utc(e.start)}`, "data-event-id": e.id });
    m.style.left = pct(ms(e.start));
    parts.push(m);
  }
  parts.push(el("div", { class: "playhead", id: "playhead" }));
  bar.replaceChildren(...parts);

  const rows = [
    ...day.segments.map((s) => ({ start: s.start, end: s.end, what: `segment ${s.id} (${s.status})`, cls: "" })),
    ...day.gaps.map((g) => ({ start: g.start, end: g.end, what: `gap: ${g.reason}`, cls: "gap-row" })),
  ].sort((a, b) => ms(a.start) - ms(b.start));
  document.querySelector("#ranges tbody").replaceChildren(...rows.map((r) => {
    const tr = el("tr", { class: r.cls });
    const secs = r.end ? ((ms(r.end) - ms(r.start)) / 1000).toFixed(1) : "open";
    for (const v of [utc(r.start), r.end ? utc(r.end) : "now", secs, r.what]) tr.append(el("td", {}, v));
    tr.addEventListener("click", () => play(ms(r.start)));
    return tr;
  }));
  document.querySelector("#events tbody").replaceChildren(...day.events.map((e) => {
    const tr = el("tr", { "data-event-id": e.id });
    for (const v of [utc(e.start), e.type, e.zone || "", e.severity]) tr.append(el("td", {}, v));
    tr.addEventListener("click", () => play(ms(e.start)));
    return tr;
  }));
}

async function load() {
  errorBox.textContent = "";
  reasonBox.hidden = !custody();
  const cam = form.elements.camera.value;
  day = await api.get(`/api/recordings/${encodeURIComponent(cam)}/timeline?day=${form.elements.day.value}`);
  fitView(document.getElementById("whole-day").checked);
  draw();
}

function segmentAt(t) {
  return day.segments.find((s) => ms(s.start) <= t && t < ms(s.end))
    || day.segments.find((s) => ms(s.start) > t);
}

async function play(t) {
  errorBox.textContent = "";
  const seg = segmentAt(t);
  if (!seg) { errorBox.textContent = "nothing recorded at or after that moment on this day"; return; }
  if (custody() && !reason()) {
    reasonBox.hidden = false;
    form.elements.reason.focus();
    errorBox.textContent = "This camera records a custody room: give a reason first (it is audited).";
    return;
  }
  let grant;
  try {
    grant = await api.post("/api/playback", { segment_id: seg.id, reason: reason() || null });
  } catch (e) { errorBox.textContent = e.message; return; }
  current = { seg, startMs: ms(seg.start) };
  const offset = Math.max(0, (t - ms(seg.start)) / 1000);
  video.src = grant.url;
  video.addEventListener("loadedmetadata", () => {
    if (offset > 0.2) video.currentTime = offset;
    video.play().catch(() => {});
  }, { once: true });
  document.getElementById("segment-info").textContent =
    `segment ${seg.id}: ${utc(seg.start)} – ${utc(seg.end)} UTC, sha256 ${seg.sha256 ? seg.sha256.slice(0, 16) + "…" : "(recording)"}`;
  download.href = `/api/recordings/segments/${seg.id}/download` + (reason() ? `?reason=${encodeURIComponent(reason())}` : "");
  download.hidden = false;
}

video.addEventListener("timeupdate", () => {
  if (!current) return;
  const t = current.startMs + video.currentTime * 1000;
  document.getElementById("playing").textContent = utc(new Date(t).toISOString()) + " UTC";
  const head = document.getElementById("playhead");
  if (head) head.style.left = pct(t);
});

video.addEventListener("ended", () => {
  if (!current) return;
  const end = ms(current.seg.end);
  const next = day.segments.find((s) => ms(s.start) >= end - 500 && s.id !== current.seg.id);
  if (next && ms(next.start) - end < 1000) play(ms(next.start));  // contiguous: play on
});

bar.addEventListener("click", (ev) => {
  if (!day) return;
  const box = bar.getBoundingClientRect();
  play(view[0] + ((ev.clientX - box.left) / box.width) * span());
});

form.addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => { errorBox.textContent = e.message; }); });
form.elements.camera.addEventListener("change", () => { reasonBox.hidden = !custody(); });
document.getElementById("whole-day").addEventListener("change", (ev) => {
  if (day) { fitView(ev.target.checked); draw(); }
});

const params = new URLSearchParams(location.search);
if (params.get("camera")) form.elements.camera.value = params.get("camera");
form.elements.day.value = params.get("day") || new Date().toISOString().slice(0, 10);
reasonBox.hidden = !custody();
load().then(() => { if (params.get("t")) play(Date.parse(params.get("t"))); })
  .catch((e) => { errorBox.textContent = e.message; });

// -- add a clip to a case (investigators) ----------------------------------------------

const clipForm = document.getElementById("clip");
if (clipForm) {
  const local = (t) => new Date(t).toISOString().slice(0, 19);  // UTC, for datetime-local
  const at = () => (current ? current.startMs + video.currentTime * 1000 : null);
  document.getElementById("mark-in").addEventListener("click", () => {
    if (at() !== null) clipForm.elements.start.value = local(at());
  });
  document.getElementById("mark-out").addEventListener("click", () => {
    if (at() !== null) clipForm.elements.end.value = local(at());
  });
  api.get("/api/cases").then((cases) => {
    clipForm.elements.case.replaceChildren(...cases.filter((c) => c.status === "open")
      .map((c) => el("option", { value: c.id }, `${c.number} · ${c.title}`)));
  });
  clipForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = clipForm.elements;
    const error = document.getElementById("clip-error");
    error.textContent = "";
    try {
      const item = await api.post(`/api/cases/${f.case.value}/clips`, {
        camera_id: form.elements.camera.value, start: f.start.value + "Z", end: f.end.value + "Z",
        note: f.note.value, reason: reason() || null,
      });
      error.textContent = "";
      clipForm.querySelector(".hint")?.remove();
      clipForm.append(el("p", { class: "hint" }, `clip ${item.id} added (${utc(item.start)} – ${utc(item.end)} UTC)`));
    } catch (e) { error.textContent = e.message; }
  });
}
