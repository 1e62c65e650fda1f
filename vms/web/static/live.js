// Live wall: one WebRTC connection per camera tile (H.264 relayed by the server, not
// re-encoded), and the alert feed over server-sent events.
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
  pc.addEventListener("track", (ev) => {
    video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
    video.play().catch(() => {});
  });
  const retry = () => {
    pc.close();
    status.textContent = "reconnecting…";
    tile.classList.remove("playing");
    setTimeout(() => watch(tile), 3000);
  };
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") status.textContent = "live";
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
  } catch (e) {
    status.textContent = e.message;
    if (e.status !== 403 && e.status !== 404) retry();
  }
}

for (const tile of document.querySelectorAll(".tile")) watch(tile);

// -- alerts ---------------------------------------------------------------------------

const list = document.getElementById("alerts");
const feedState = document.getElementById("feed-state");
const template = document.getElementById("alert-item");

function showAck(item, ack) {
  const line = el("div", { class: "ack-line" }, `✓ ${ack.username} ${utc(ack.at)}${ack.note ? ": " + ack.note : ""}`);
  item.querySelector(".acks").append(line);
  item.classList.add("acked");
}

function render(a) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.eventId = a.id;
  item.classList.add(`sev-${a.severity}`);
  if (a.acked) item.classList.add("acked");
  item.querySelector(".sev").textContent = a.severity;
  item.querySelector(".type").textContent = a.type.replaceAll("_", " ");
  item.querySelector(".where").textContent =
    (names[a.camera_id] || a.camera_id) + (a.zone ? ` · ${a.zone}` : "");
  const when = item.querySelector(".when");
  when.dateTime = a.start;
  when.textContent = utc(a.start) + " UTC";
  if (a.has_snapshot) {
    const img = item.querySelector(".snap");
    img.src = `/api/events/${a.id}/snapshot`;
    img.alt = `snapshot of ${a.type}`;
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

async function startFeed() {
  const recent = await api.get("/api/alerts?limit=50");
  list.replaceChildren(...recent.alerts.map(render));
  const source = new EventSource(`/api/alerts/stream?after=${recent.last_id}`);
  source.addEventListener("open", () => { feedState.textContent = "live"; });
  source.addEventListener("error", () => { feedState.textContent = "reconnecting…"; });
  source.addEventListener("alert", (ev) => {
    const a = JSON.parse(ev.data);
    if (list.querySelector(`[data-event-id="${a.id}"]`)) return;
    list.prepend(render(a));
    while (list.children.length > 200) list.lastElementChild.remove();
  });
  source.addEventListener("ack", (ev) => {
    const ack = JSON.parse(ev.data);
    const item = list.querySelector(`[data-event-id="${ack.event_id}"]`);
    if (item) showAck(item, ack);
  });
}

startFeed().catch((e) => { feedState.textContent = e.message; });
