// Live wall: one WebRTC connection per camera tile (H.264 relayed by the server, not
// re-encoded), and the alert feed over server-sent events: analytics events and the open
// custody alerts, whose escalation level, acknowledgement and clearing update in place.
"use strict";

const names = {};
for (const tile of document.querySelectorAll(".tile")) names[tile.dataset.camera] = tile.dataset.name;

function iceComplete(pc) {
  // The server does not trickle candidates: send the offer with all of ours in it.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000);
  });
}

async function watch(tile) {
  const video = tile.querySelector("video");
  const status = tile.querySelector("[data-status]");
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });  // the camera's sound, if it sends any
  const stream = new MediaStream();
  pc.addEventListener("track", (ev) => {
    stream.addTrack(ev.track);
    video.srcObject = stream;
    video.play().catch(() => {});
  });
  tile.live = pc;
  const retry = () => {
    pc.close();
    status.textContent = t("reconnecting…");
    tile.classList.remove("playing");
    setTimeout(() => watch(tile), 3000);
  };
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") {
      status.textContent = tile.dataset.transcoded === "yes"
        ? `${t("live")} · ${t("transcoded for viewing; the evidence is the original")}` : t("live");
    }
    if (pc.connectionState === "failed") retry();
  });
  video.addEventListener("playing", () => tile.classList.add("playing"), { once: true });
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await iceComplete(pc);
    const answer = await api.post(`/api/live/${encodeURIComponent(tile.dataset.camera)}/offer`, {
      sdp: pc.localDescription.sdp, type: "offer",
    });
    await pc.setRemoteDescription(answer);
    tile.dataset.audio = answer.audio || "none";
    if (answer.transcoded) {
      tile.dataset.transcoded = "yes";
      tile.title = t("transcoded for viewing; the evidence is the original");
    }
  } catch (e) {
    status.textContent = e.message;
    if (e.status !== 403 && e.status !== 404) retry();
  }
}

for (const tile of document.querySelectorAll(".tile")) {
  watch(tile);
  // The wall is silent; a click on a picture listens to that camera (and mutes the others).
  tile.querySelector("video").addEventListener("click", (ev) => {
    const listen = ev.target.muted;
    for (const v of document.querySelectorAll(".tile video")) v.muted = true;
    ev.target.muted = !listen;
  });
}

// -- alerts ---------------------------------------------------------------------------

const list = document.getElementById("alerts");
const feedState = document.getElementById("feed-state");
const template = document.getElementById("alert-item");

function showAck(item, ack) {
  const line = el("div", { class: "ack-line" }, `✓ ${ack.username} ${localTime(ack.at)}${ack.note ? ": " + ack.note : ""}`);
  item.querySelector(".acks").append(line);
  item.classList.add("acked");
}

function render(a) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.eventId = a.id;
  item.classList.add(`sev-${a.severity}`);
  if (a.acked) item.classList.add("acked");
  item.querySelector(".sev").textContent = label("severity", a.severity);
  item.querySelector(".type").textContent = label("event_type", a.type);
  item.querySelector(".where").textContent =
    (names[a.camera_id] || a.camera_id) + (a.zone ? ` · ${a.zone}` : "");
  const at = item.querySelector(".when");
  at.dateTime = a.start;
  at.textContent = when(a.start);
  if (a.has_snapshot) {
    const img = item.querySelector(".snap");
    img.src = `/api/events/${a.id}/snapshot`;
    img.alt = label("event_type", a.type);
    img.hidden = false;
  }
  item.querySelector("form.ack").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const note = ev.target.elements.note.value;
    try {
      await api.post(`/api/alerts/${a.id}/ack`, { note });
      ev.target.elements.note.value = "";
    } catch (e) {
      alert(e.message);
    }
  });
  return item;
}

// -- custody alerts: escalated 1 -> 2 -> 3 until acknowledged (with a note) ----------------

const custody = {}; // id -> the newest state shown

function merge(prev, a) {
  // Messages are whole states and may arrive out of order (a poll beside an acknowledgement):
  // a level never goes down, an acknowledgement or a clearing is never undone.
  if (!prev) return a;
  const out = { ...a, level: Math.max(prev.level, a.level) };
  if (out.level === prev.level && prev.level > a.level) out.level_to = prev.level_to;
  if (prev.ack_at && !a.ack_at) {
    Object.assign(out, { ack_at: prev.ack_at, acknowledged_by: prev.acknowledged_by, ack_note: prev.ack_note });
  }
  if (prev.cleared_at && !a.cleared_at) out.cleared_at = prev.cleared_at;
  return out;
}

function showCustody(item, a) {
  const level = item.querySelector(".level");
  level.textContent = t("Level {n}", { n: a.level });
  level.className = `level level-${Math.min(a.level, 3)}`;
  item.dataset.level = a.level;
  item.querySelector(".level-to").textContent = a.level_to ? `→ ${a.level_to}` : "";
  item.querySelector(".state").textContent = a.cleared_at ? t("cleared {at}", { at: when(a.cleared_at) }) : "";
  item.querySelector(".message").textContent = a.message;
  const acks = item.querySelector(".acks");
  if (a.ack_at) {
    acks.replaceChildren(el("div", { class: "ack-line" }, `✓ ${a.acknowledged_by} ${localTime(a.ack_at)}: ${a.ack_note}`));
    item.classList.add("acked");
  }
}

function renderCustody(a) {
  const item = el("li", { class: `alert custody sev-${a.severity}`, "data-custody-id": a.id });
  const what = el("div", { class: "what" });
  const head = el("div", { class: "head" });
  head.append(el("span", { class: "level" }), " ", el("span", { class: "sev" }, t("{severity} · custody", { severity: label("severity", a.severity) })), " ",
    el("strong", { class: "type" }, label("alert_type", a.type)), " ", el("span", { class: "level-to" }));
  const where = [a.room_name || a.room, a.camera_id ? names[a.camera_id] || a.camera_id : null];
  const at = el("time", { class: "when", datetime: a.raised_at }, when(a.raised_at));
  const form = el("form", { class: "ack" });
  form.append(
    el("input", { name: "note", placeholder: t("Note (required)"), required: "", maxlength: "2000", "aria-label": t("Acknowledgement note") }),
    el("button", { type: "submit" }, t("Acknowledge")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const done = await api.post(`/api/custody/alerts/${a.id}/ack`, { note: form.elements.note.value });
      form.elements.note.value = "";
      updateCustody(done);
    } catch (e) {
      alert(e.message);
    }
  });
  what.append(head, el("div", { class: "message" }, a.message),
    el("div", { class: "where" }, where.filter(Boolean).join(" · ")), at,
    el("div", { class: "state" }), el("div", { class: "acks" }), form);
  item.append(what);
  return item;
}

function updateCustody(a) {
  const shown = merge(custody[a.id], a);
  custody[a.id] = shown;
  let item = list.querySelector(`[data-custody-id="${a.id}"]`);
  const fresh = !item;
  if (fresh) item = renderCustody(shown);
  showCustody(item, shown);
  return fresh ? item : null;
}

async function startFeed() {
  const recent = await api.get("/api/alerts?limit=50");
  const items = [
    ...recent.alerts.map((a) => [Date.parse(a.start), render(a)]),
    ...recent.custody.map((a) => [Date.parse(a.raised_at), updateCustody(a)]),
  ].filter(([, item]) => item);
  items.sort((x, y) => y[0] - x[0]);
  list.replaceChildren(...items.map(([, item]) => item));
  const source = new EventSource(`/api/alerts/stream?after=${recent.last_id}`);
  source.addEventListener("open", () => { feedState.textContent = t("live"); });
  source.addEventListener("error", () => { feedState.textContent = t("reconnecting…"); });
  source.addEventListener("alert", (ev) => {
    const a = JSON.parse(ev.data);
    if (list.querySelector(`[data-event-id="${a.id}"]`)) return;
    list.prepend(render(a));
    while (list.children.length > 200) list.lastElementChild.remove();
  });
  source.addEventListener("custody", (ev) => {
    const item = updateCustody(JSON.parse(ev.data));
    if (item) list.prepend(item);
  });
  source.addEventListener("ack", (ev) => {
    const ack = JSON.parse(ev.data);
    const item = list.querySelector(`[data-event-id="${ack.event_id}"]`);
    if (item) showAck(item, ack);
  });
}

startFeed().catch((e) => { feedState.textContent = e.message; });
