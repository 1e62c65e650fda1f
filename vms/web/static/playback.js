// Review: several cameras in sync on one timeline (a custody area's rooms, a street's cameras).
// One clock T (UTC ms) drives every player: each plays the segment file covering T (as
// recorded, over HTTP range requests; each segment start is audited) at T's offset, at the
// chosen speed, and is pulled back when it drifts more than a quarter of a second. The next
// segment is loaded in a second video element before the boundary, so playback runs on across
// segments; a gap shows "no recording". Zoom from a day to seconds, event thumbnails on the
// lanes, previous/next event, mark in/out across the cameras and add them all to a case.
"use strict";

const form = document.getElementById("pick");
const errorBox = document.getElementById("playback-error");
const reasonBox = form.querySelector(".reason");
const timelineBox = document.getElementById("timeline");
const lanesBox = document.getElementById("lanes");
const playersBox = document.getElementById("players");
const ZOOMS = [86400, 21600, 7200, 3600, 1800, 600, 300, 60, 30, 10];  // seconds in view
const STEPS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800];         // axis tick choices
const DRIFT_S = 0.25;
// H.265 plays as recorded where the browser has a decoder; elsewhere the server makes a
// viewing copy for this viewer (and says so).
const HEVC = document.createElement("video").canPlayType('video/mp4; codecs="hvc1.1.6.L93.B0"') !== "";

const review = {
  cams: [],            // camera ids shown
  lanes: {},           // camera -> its timeline (segments, gaps, events)
  players: {},         // camera -> player
  dayStart: 0, dayEnd: 0,
  view: [0, 0],        // ms shown on the timeline
  zoom: 0,             // index into ZOOMS
  t: null,             // the clock: UTC ms
  playing: false,
  speed: 1,
  last: null,          // performance.now() of the last tick
  marks: { in: null, out: null },
  listen: null,        // the camera heard (one at a time; a click on a picture chooses)
};

const ms = (iso) => (iso ? Date.parse(iso) : Date.now());
const span = () => review.view[1] - review.view[0];
const pct = (at) => `${((100 * (at - review.view[0])) / span()).toFixed(4)}%`;
const reason = () => form.elements.reason.value.trim();
const custodyCam = (cam) => review.lanes[cam]?.custody
  ?? form.querySelector(`input[name=camera][value="${cam}"]`)?.dataset.custody === "yes";
const camName = (cam) => form.querySelector(`input[name=camera][value="${cam}"]`)?.dataset.name || cam;

function segEnd(seg) { return seg.end ? ms(seg.end) : Date.now(); }
function segAt(cam, at) {
  const lane = review.lanes[cam];
  return lane ? lane.segments.find((s) => ms(s.start) <= at && at < segEnd(s)) : undefined;
}
function segAfter(cam, seg) {
  const lane = review.lanes[cam];
  const end = segEnd(seg);
  return lane?.segments.find((s) => s.id !== seg.id && Math.abs(ms(s.start) - end) < 1000);
}

// -- players ---------------------------------------------------------------------------

function makePlayer(cam) {
  const node = document.getElementById("player").content.firstElementChild.cloneNode(true);
  node.dataset.camera = cam;
  node.querySelector(".name").textContent = camName(cam);
  const [a, b] = node.querySelectorAll("video");
  node.querySelector(".screen").addEventListener("click", () => {
    review.listen = review.listen === cam ? null : cam;
    for (const q of Object.values(review.players)) q.silenced = false;  // a click allows sound
  });
  return { cam, node, videos: [a, b], active: 0, seg: null, standby: null, loading: null };
}

async function grant(seg, cam) {
  if (custodyCam(cam) && !reason()) {
    reasonBox.hidden = false;
    form.elements.reason.focus();
    throw new Error(t("This camera records a custody room: give a reason first (it is audited)."));
  }
  return api.post("/api/playback", { segment_id: seg.id, reason: reason() || null, hevc: HEVC });
}

function load(video, url, offset) {
  return new Promise((resolve, reject) => {
    const ready = () => {
      if (offset > 0.05) video.currentTime = offset;
      resolve();
    };
    video.addEventListener("loadedmetadata", ready, { once: true });
    video.addEventListener("error", () => reject(new Error(t("the recording could not be played"))), { once: true });
    video.src = url;
  });
}

function showSegment(p, seg, g) {
  const note = p.node.querySelector(".viewing-note");
  note.hidden = !g.viewing_copy;
  note.textContent = g.viewing_copy ? t("transcoded for viewing; the evidence is the original") : "";
  p.node.querySelector(".segment").textContent = t("segment {id}: {start} – {end}, sha256 {sha}", {
    id: seg.id, start: localTime(seg.start), end: seg.end ? localTime(seg.end) : t("recording"),
    sha: seg.sha256 ? seg.sha256.slice(0, 16) + "…" : t("(recording)") });
  const dl = p.node.querySelector(".download");
  dl.href = `/api/recordings/segments/${seg.id}/download` + (reason() ? `?reason=${encodeURIComponent(reason())}` : "");
  dl.hidden = false;
}

async function ensure(p) {
  // The player shows the segment covering T: the one preloaded, else load it now.
  const seg = segAt(p.cam, review.t);
  p.node.querySelector(".no-footage").hidden = Boolean(seg);
  if (!seg) {
    for (const v of p.videos) v.pause();
    p.seg = null;
    return;
  }
  if (p.seg?.id === seg.id || p.loading === seg.id) return;
  if (p.standby?.seg.id === seg.id) {
    // Preloaded, or still loading: then the clock waits for it (stalled) rather than the
    // segment being asked for twice (each grant is an audited view).
    if (!p.standby.ready) return;
    const old = p.videos[p.active];
    p.active = 1 - p.active;
    const now = p.videos[p.active];
    now.hidden = false;
    old.hidden = true;
    old.pause();
    p.seg = seg;
    showSegment(p, seg, p.standby.grant);
    p.standby = null;
    return;
  }
  // Whatever was preloaded is for another time (T was moved): it would stay in the way of
  // every later preload.
  p.standby = null;
  p.loading = seg.id;
  try {
    const g = await grant(seg, p.cam);
    const video = p.videos[p.active];
    await load(video, g.url, Math.max(0, (review.t - ms(seg.start)) / 1000));
    video.dataset.segStart = String(ms(seg.start));  // what it shows: segStart + currentTime
    p.seg = seg;
    showSegment(p, seg, g);
  } catch (e) {
    errorBox.textContent = e.message;
    review.playing = false;
    showPlay();
  } finally {
    p.loading = null;
  }
}

async function preload(p) {
  // Before the boundary (three seconds of the viewer's time at any speed), the next segment
  // goes into the other video element.
  if (!p.seg || p.standby || segEnd(p.seg) - review.t > 3000 * Math.max(1, review.speed)) return;
  const next = segAfter(p.cam, p.seg);
  if (!next) return;
  const standby = { seg: next, ready: false };
  p.standby = standby;
  try {
    const g = await grant(next, p.cam);
    if (p.standby !== standby) return;  // dropped meanwhile (T was moved)
    const video = p.videos[1 - p.active];
    await load(video, g.url, 0);
    if (p.standby !== standby) return;
    video.dataset.segStart = String(ms(next.start));
    video.pause();
    standby.grant = g;
    standby.ready = true;
  } catch (e) { if (p.standby === standby) p.standby = null; }
}

function sync(p) {
  if (!p.seg) return;
  const video = p.videos[p.active];
  const want = (review.t - ms(p.seg.start)) / 1000;
  if (video.readyState >= 1 && !video.seeking && Math.abs(video.currentTime - want) > DRIFT_S) {
    video.currentTime = Math.max(0, want);
  }
  if (video.playbackRate !== review.speed) video.playbackRate = review.speed;
  // One camera is heard; where the browser refuses sound without a click, it plays silent.
  const heard = p.cam === review.listen;
  for (const v of p.videos) if (v !== video || !heard) v.muted = true;
  if (heard && video.muted && !p.silenced) video.muted = false;
  if (review.playing && video.paused && video.readyState >= 2) {
    video.play().catch(() => {
      if (!video.muted) { p.silenced = true; video.muted = true; video.play().catch(() => {}); }
    });
  }
  if (!review.playing && !video.paused) video.pause();
}

function stalled() {
  // A player loading its segment, seeking or out of data holds the clock (as a player
  // buffering does): the cameras wait for each other rather than the clock running ahead.
  return Object.values(review.players).some((p) => {
    if (p.loading !== null) return true;
    if (p.standby && !p.standby.ready && p.standby.seg.id === segAt(p.cam, review.t)?.id) return true;
    if (!p.seg) return false;
    const video = p.videos[p.active];
    return video.seeking || video.readyState < 3;
  });
}

function tick(now) {
  if (review.t !== null) {
    if (review.playing && review.last !== null && !stalled()) {
      review.t += (now - review.last) * review.speed;
      if (review.t > Date.now()) { review.t = Date.now(); }
    }
    for (const p of Object.values(review.players)) {
      ensure(p);
      preload(p);
      sync(p);
    }
    if (review.t < review.view[0] || review.t > review.view[1]) centre(review.t);
    document.getElementById("playing").textContent = when(new Date(review.t).toISOString());
    document.getElementById("playhead").style.left = pct(review.t);
    document.body.dataset.reviewT = String(Math.round(review.t));
  }
  review.last = now;
  requestAnimationFrame(tick);
}

function seek(at) {
  review.t = Math.max(review.dayStart, Math.min(at, Math.min(review.dayEnd, Date.now())));
  errorBox.textContent = "";
}

function showPlay() {
  document.getElementById("play").textContent = review.playing ? "Ⅱ" : "▶";  // glyphs the CJK font has
}

// -- the timeline ------------------------------------------------------------------------

function centre(at) {
  const width = ZOOMS[review.zoom] * 1000;
  let from = at - width / 2;
  from = Math.max(review.dayStart, Math.min(from, review.dayEnd - width));
  review.view = [from, from + Math.min(width, review.dayEnd - review.dayStart)];
  draw();
}

function setZoom(z, around) {
  review.zoom = Math.max(0, Math.min(ZOOMS.length - 1, z));
  document.getElementById("zoom-label").textContent = duration(ZOOMS[review.zoom]);
  centre(around ?? review.t ?? review.view[0]);
}

function block(cls, start, end, title) {
  const s = Math.max(start, review.view[0]);
  const e = Math.min(end, review.view[1]);
  if (e <= s) return null;
  const node = el("div", { class: cls, title });
  node.style.left = pct(s);
  node.style.width = `${Math.max(0.05, (100 * (e - s)) / span())}%`;
  return node;
}

function drawAxis() {
  const target = span() / 1000 / 10;
  const step = STEPS.find((x) => x >= target) || STEPS[STEPS.length - 1];
  const first = Math.ceil(review.view[0] / (step * 1000)) * step * 1000;
  const ticks = [];
  for (let at = first; at <= review.view[1]; at += step * 1000) {
    const tick = el("span", {}, localTime(at).slice(11, step < 60 ? 19 : 16));
    tick.style.left = pct(at);
    ticks.push(tick);
  }
  document.getElementById("axis").replaceChildren(...ticks);
}

function drawLanes() {
  const thumbs = span() <= 3 * 3600 * 1000;  // close enough: thumbnails instead of marks
  lanesBox.replaceChildren(...review.cams.map((cam) => {
    const lane = review.lanes[cam];
    const row = el("div", { class: "lane", "data-camera": cam });
    row.append(el("div", { class: "lane-name" }, camName(cam)));
    const track = el("div", { class: "track" });
    for (const s of lane?.segments || []) {
      const b = block("seg", ms(s.start), segEnd(s), `${localTime(s.start)} – ${s.end ? localTime(s.end) : t("now")}`);
      if (b) track.append(b);
    }
    // A picture gap: nothing recorded. An audio gap: the picture was recorded without its
    // sound, drawn as a band under the recorded range, never as missing footage.
    for (const g of lane?.gaps || []) {
      const end = g.end ? ms(g.end) : Date.now();
      const span_ = ` (${duration((end - ms(g.start)) / 1000)})`;
      const b = g.kind === "audio"
        ? block("audio-gap", ms(g.start), end, t("audio gap (picture without sound): {reason}", { reason: g.reason }) + span_)
        : block("gap", ms(g.start), end, t("gap: {reason}", { reason: g.reason }) + span_);
      if (b) track.append(b);
    }
    for (const e of lane?.events || []) {
      const at = ms(e.start);
      if (at < review.view[0] || at > review.view[1]) continue;
      const title = `${label("event_type", e.type)} ${localTime(e.start)}`;
      const mark = el("div", { class: `ev sev-${e.severity}` + (thumbs && e.has_snapshot ? " thumb" : ""), title, "data-event-id": e.id });
      mark.style.left = pct(at);
      if (thumbs && e.has_snapshot) mark.append(el("img", { src: `/api/events/${e.id}/snapshot`, alt: title, loading: "lazy" }));
      mark.addEventListener("click", (ev) => { ev.stopPropagation(); seek(at - 2000); });
      track.append(mark);
    }
    row.append(track);
    return row;
  }));
}

function drawMarks() {
  const box = document.getElementById("marks");
  const { in: a, out: b } = review.marks;
  box.hidden = a === null || b === null || b <= a;
  if (box.hidden) return;
  const s = Math.max(a, review.view[0]), e = Math.min(b, review.view[1]);
  box.style.left = pct(s);
  box.style.width = `${Math.max(0, (100 * (e - s)) / span())}%`;
}

function draw() {
  drawAxis();
  drawLanes();
  drawMarks();
}

function allEvents() {
  return review.cams.flatMap((cam) => (review.lanes[cam]?.events || []).map((e) => ({ ...e, cam })))
    .sort((x, y) => ms(x.start) - ms(y.start));
}

function drawEventTable() {
  document.querySelector("#events tbody").replaceChildren(...allEvents().map((e) => {
    const tr = el("tr", { "data-event-id": e.id });
    for (const v of [localTime(e.start), camName(e.cam), label("event_type", e.type), e.zone || "", label("severity", e.severity)]) {
      tr.append(el("td", {}, v));
    }
    tr.addEventListener("click", () => seek(ms(e.start) - 2000));
    return tr;
  }));
}

// -- loading ---------------------------------------------------------------------------

function chosen() {
  return [...form.querySelectorAll("input[name=camera]:checked")].map((c) => c.value);
}

async function loadDay(cams, at) {
  errorBox.textContent = "";
  reasonBox.hidden = !cams.some(custodyCam);
  for (const p of Object.values(review.players)) for (const v of p.videos) v.removeAttribute("src");
  review.cams = cams;
  review.players = Object.fromEntries(cams.map((cam) => [cam, makePlayer(cam)]));
  playersBox.replaceChildren(...cams.map((cam) => review.players[cam].node));
  review.listen = cams[0] ?? null;
  playersBox.dataset.count = String(cams.length);
  const day = form.elements.day.value;
  const lanes = await Promise.all(cams.map((cam) =>
    api.get(`/api/recordings/${encodeURIComponent(cam)}/timeline?day=${day}`)));
  review.lanes = Object.fromEntries(lanes.map((lane) => [lane.camera_id, lane]));
  review.dayStart = ms(lanes[0]?.day_start);
  review.dayEnd = ms(lanes[0]?.day_end);
  const firsts = lanes.flatMap((l) => l.segments.map((s) => ms(s.start)));
  const start = at ?? (firsts.length ? Math.min(...firsts) : review.dayStart);
  seek(start);
  setZoom(at ? 5 : 0, start);
  drawEventTable();
  const url = new URL(location.href);
  url.searchParams.delete("camera");
  for (const cam of cams) url.searchParams.append("camera", cam);
  url.searchParams.set("day", day);
  history.replaceState(null, "", url);
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const cams = chosen();
  if (!cams.length) { errorBox.textContent = t("Choose at least one camera."); return; }
  loadDay(cams, null).catch((e) => { errorBox.textContent = e.message; });
});
for (const box of form.querySelectorAll(".whole-group")) {
  box.addEventListener("change", () => {
    for (const c of box.closest("fieldset").querySelectorAll("input[name=camera]")) c.checked = box.checked;
    reasonBox.hidden = !chosen().some(custodyCam);
  });
}
form.addEventListener("change", () => { reasonBox.hidden = !chosen().some(custodyCam); });

// -- transport -----------------------------------------------------------------------------

document.getElementById("play").addEventListener("click", () => {
  if (review.t === null) return;
  review.playing = !review.playing;
  showPlay();
});
document.getElementById("speed").addEventListener("change", (ev) => { review.speed = Number(ev.target.value); });
document.getElementById("zoom-in").addEventListener("click", () => setZoom(review.zoom + 1));
document.getElementById("zoom-out").addEventListener("click", () => setZoom(review.zoom - 1));
document.getElementById("next-event").addEventListener("click", () => {
  const next = allEvents().find((e) => ms(e.start) - 2000 > review.t + 500);
  if (next) seek(ms(next.start) - 2000);
});
document.getElementById("prev-event").addEventListener("click", () => {
  const prev = allEvents().reverse().find((e) => ms(e.start) - 2000 < review.t - 500);
  if (prev) seek(ms(prev.start) - 2000);
});

let drag = null;
timelineBox.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, view: [...review.view], moved: false }; });
window.addEventListener("mousemove", (ev) => {
  if (!drag) return;
  const dx = ev.clientX - drag.x;
  if (Math.abs(dx) > 3) drag.moved = true;
  if (!drag.moved) return;
  const shift = (-dx / lanesBox.clientWidth) * (drag.view[1] - drag.view[0]);
  const width = drag.view[1] - drag.view[0];
  const from = Math.max(review.dayStart, Math.min(drag.view[0] + shift, review.dayEnd - width));
  review.view = [from, from + width];
  draw();
});
window.addEventListener("mouseup", (ev) => {
  if (drag && !drag.moved && review.t !== null) {
    const track = lanesBox.querySelector(".track") || lanesBox;
    const box = track.getBoundingClientRect();
    seek(review.view[0] + ((ev.clientX - box.left) / box.width) * span());
  }
  drag = null;
});
timelineBox.addEventListener("wheel", (ev) => {
  if (review.t === null) return;
  ev.preventDefault();
  setZoom(review.zoom + (ev.deltaY < 0 ? 1 : -1));
}, { passive: false });

// -- marks and the case ---------------------------------------------------------------------

const clipForm = document.getElementById("clip");
if (clipForm) {
  const f = clipForm.elements;
  const setMark = (which, input) => {
    if (review.t === null) return;
    review.marks[which] = review.t;
    input.value = localInput(review.t);
    drawMarks();
  };
  document.getElementById("mark-in").addEventListener("click", () => setMark("in", f.start));
  document.getElementById("mark-out").addEventListener("click", () => setMark("out", f.end));
  for (const [which, input] of [["in", f.start], ["out", f.end]]) {
    input.addEventListener("change", () => {
      const v = fromLocalInput(input.value);
      review.marks[which] = v ? Date.parse(v) : null;
      drawMarks();
    });
  }
  api.get("/api/cases").then((cases) => {
    f.case.replaceChildren(...cases.filter((c) => c.status === "open")
      .map((c) => el("option", { value: c.id }, `${c.number} · ${c.title}`)));
  });
  clipForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = document.getElementById("clip-error");
    const results = document.getElementById("clip-results");
    error.textContent = "";
    results.replaceChildren();
    const start = fromLocalInput(f.start.value), end = fromLocalInput(f.end.value);
    if (!start || !end || end <= start) { error.textContent = t("Mark in before mark out."); return; }
    const a = Date.parse(start), b = Date.parse(end);
    const cams = review.cams.filter((cam) => (review.lanes[cam]?.segments || []).some((s) => ms(s.start) < b && segEnd(s) > a));
    if (!cams.length) { error.textContent = t("No camera shown has footage in the marked range."); return; }
    if (cams.some(custodyCam) && !reason()) {
      reasonBox.hidden = false;
      error.textContent = t("This camera records a custody room: give a reason first (it is audited).");
      return;
    }
    for (const cam of cams) {
      const line = el("li", { "data-camera": cam }, `${camName(cam)}: …`);
      results.append(line);
      try {
        const item = await api.post(`/api/cases/${f.case.value}/clips`, {
          camera_id: cam, start, end, note: f.note.value, reason: custodyCam(cam) ? reason() : null,
        });
        line.textContent = t("{camera}: clip {id} added ({start} – {end})", {
          camera: camName(cam), id: item.id, start: localTime(item.start), end: localTime(item.end) });
        line.classList.add("ok");
      } catch (e) {
        line.textContent = `${camName(cam)}: ${e.message}`;
        line.classList.add("error");
      }
    }
  });
}

// -- start: from the address (a search result, an interview, a case's clip) --------------------

requestAnimationFrame(tick);
const params = new URLSearchParams(location.search);
const wanted = params.getAll("camera");
for (const cam of wanted) {
  const box = form.querySelector(`input[name=camera][value="${cam}"]`);
  if (box) box.checked = true;
}
const at = params.get("t") ? Date.parse(params.get("t")) : null;
form.elements.day.value = params.get("day") || (at ? localDay(at) : localDay());
if (params.get("speed")) {
  review.speed = Number(params.get("speed")) || 1;
  document.getElementById("speed").value = String(review.speed);
}
if (clipForm) {
  for (const [which, input] of [["in", clipForm.elements.start], ["out", clipForm.elements.end]]) {
    const v = params.get(which);
    if (v) { review.marks[which] = Date.parse(v); input.value = localInput(Date.parse(v)); }
  }
}
if (wanted.length) {
  loadDay(wanted, at).then(() => {
    // A link to a moment plays from it (play=0: stands there).
    if (params.get("play") === "1" || (at !== null && params.get("play") !== "0")) {
      review.playing = true;
      showPlay();
    }
  }).catch((e) => { errorBox.textContent = e.message; });
}
