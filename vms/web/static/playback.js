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
// H.265 plays as recorded where the browser has a decoder; elsewhere the server makes a
// viewing copy for this viewer (and says so).
const HEVC = video.canPlayType('video/mp4; codecs="hvc1.1.6.L93.B0"') !== "";

function ms(iso) { return iso ? Date.parse(iso) : Date.now(); }
function span() { return view[1] - view[0]; }
function pct(at) { return `${(100 * (at - view[0]) / span()).toFixed(4)}%`; }

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
    const at = view[0] + (span() * i) / 8;
    const text = localTime(at).slice(11, span() > 3 * 3600000 ? 16 : 19);
    const tick = el("span", {}, text);
    tick.style.left = `${(100 * i) / 8}%`;
    hours.append(tick);
  }
  const parts = [hours];
  for (const s of day.segments) parts.push(block("seg", s.start, s.end, `${localTime(s.start)} – ${localTime(s.end)}`));
  // A picture gap: nothing recorded. An audio gap: the picture was recorded without its sound,
  // drawn as a band under the recorded range, never as missing footage.
  for (const g of day.gaps) {
    parts.push(g.kind === "audio"
      ? block("audio-gap", g.start, g.end, t("audio gap (picture without sound): {reason}", { reason: g.reason }))
      : block("gap", g.start, g.end, t("gap: {reason}", { reason: g.reason })));
  }
  for (const e of day.events) {
    const m = el("div", { class: "ev", title: `${label("event_type", e.type)} ${localTime(e.start)}`, "data-event-id": e.id });
    m.style.left = pct(ms(e.start));
    parts.push(m);
  }
  parts.push(el("div", { class: "playhead", id: "playhead" }));
  bar.replaceChildren(...parts);

  const rows = [
    ...day.segments.map((s) => ({ start: s.start, end: s.end, what: t("segment {id}", { id: s.id }), cls: "" })),
    ...day.gaps.map((g) => g.kind === "audio"
      ? { start: g.start, end: g.end, what: t("audio gap (picture without sound): {reason}", { reason: g.reason }), cls: "gap-row audio-gap-row" }
      : { start: g.start, end: g.end, what: t("gap: {reason}", { reason: g.reason }), cls: "gap-row" }),
  ].sort((a, b) => ms(a.start) - ms(b.start));
  document.querySelector("#ranges tbody").replaceChildren(...rows.map((r) => {
    const tr = el("tr", { class: r.cls });
    const secs = r.end ? duration((ms(r.end) - ms(r.start)) / 1000) : t("open");
    for (const v of [localTime(r.start), r.end ? localTime(r.end) : t("now"), secs, r.what]) tr.append(el("td", {}, v));
    tr.addEventListener("click", () => play(ms(r.start)));
    return tr;
  }));
  document.querySelector("#events tbody").replaceChildren(...day.events.map((e) => {
    const tr = el("tr", { "data-event-id": e.id });
    for (const v of [localTime(e.start), label("event_type", e.type), e.zone || "", label("severity", e.severity)]) tr.append(el("td", {}, v));
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

function segmentAt(at) {
  return day.segments.find((s) => ms(s.start) <= at && at < ms(s.end))
    || day.segments.find((s) => ms(s.start) > at);
}

async function play(at) {
  errorBox.textContent = "";
  const seg = segmentAt(at);
  if (!seg) { errorBox.textContent = t("nothing recorded at or after that moment on this day"); return; }
  if (custody() && !reason()) {
    reasonBox.hidden = false;
    form.elements.reason.focus();
    errorBox.textContent = t("This camera records a custody room: give a reason first (it is audited).");
    return;
  }
  let grant;
  try {
    grant = await api.post("/api/playback", { segment_id: seg.id, reason: reason() || null, hevc: HEVC });
  } catch (e) { errorBox.textContent = e.message; return; }
  current = { seg, startMs: ms(seg.start) };
  const offset = Math.max(0, (at - ms(seg.start)) / 1000);
  video.src = grant.url;
  video.addEventListener("loadedmetadata", () => {
    if (offset > 0.2) video.currentTime = offset;
    video.play().catch(() => {});
  }, { once: true });
  document.getElementById("segment-info").textContent =
    t("segment {id}: {start} – {end}, sha256 {sha}", { id: seg.id, start: localTime(seg.start), end: localTime(seg.end),
      sha: seg.sha256 ? seg.sha256.slice(0, 16) + "…" : t("(recording)") });
  download.href = `/api/recordings/segments/${seg.id}/download` + (reason() ? `?reason=${encodeURIComponent(reason())}` : "");
  download.hidden = false;
  const note = document.getElementById("viewing-note");
  note.hidden = !grant.viewing_copy;
  note.textContent = grant.viewing_copy ? t("transcoded for viewing; the evidence is the original") : "";
}

video.addEventListener("timeupdate", () => {
  if (!current) return;
  const at = current.startMs + video.currentTime * 1000;
  document.getElementById("playing").textContent = when(new Date(at).toISOString());
  const head = document.getElementById("playhead");
  if (head) head.style.left = pct(at);
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
form.elements.day.value = params.get("day") || (params.get("t") ? localDay(Date.parse(params.get("t"))) : localDay());
reasonBox.hidden = !custody();
load().then(() => { if (params.get("t")) play(Date.parse(params.get("t"))); })
  .catch((e) => { errorBox.textContent = e.message; });

// -- add a clip to a case (investigators) ----------------------------------------------

const clipForm = document.getElementById("clip");
if (clipForm) {
  const local = (ms) => localInput(ms);  // the site's zone, for datetime-local
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
        camera_id: form.elements.camera.value, start: fromLocalInput(f.start.value), end: fromLocalInput(f.end.value),
        note: f.note.value, reason: reason() || null,
      });
      error.textContent = "";
      clipForm.querySelector(".hint")?.remove();
      clipForm.append(el("p", { class: "hint" }, t("clip {id} added ({start} – {end})", { id: item.id, start: localTime(item.start), end: localTime(item.end) })));
    } catch (e) { error.textContent = e.message; }
  });
}
