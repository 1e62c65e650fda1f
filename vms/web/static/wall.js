// The live wall: a grid of 1, 4, 9 or 16 cameras (pages beyond), a group to show (a street, a
// custody area), one camera on its own (double-click a tile), full screen; each tile is one
// WebRTC connection (H.264 relayed by the server, not re-encoded), opened only while the tile
// is shown. Over each video the analysis's newest tracks are drawn on a canvas (boxes and the
// people count, from the server's overlay feed: the video itself is never touched). A new
// critical alert flashes its camera, sounds (unless muted) and brings the camera up alone.
"use strict";

const Wall = (() => {
  const wall = document.getElementById("wall");
  const tiles = [...wall.querySelectorAll(".tile")];
  const byCamera = Object.fromEntries(tiles.map((tile) => [tile.dataset.camera, tile]));
  const conns = new Map();     // camera -> { pc, retry }
  const overlays = new Map();  // camera -> newest overlay { t, w, h, n, b, at }
  const noAnalysis = new Set();
  const state = {
    layout: Number(localStorage.getItem("vms-wall-layout")) || 4,
    page: 0,
    group: localStorage.getItem("vms-wall-group") || "",
    single: null,
    boxes: localStorage.getItem("vms-wall-boxes") !== "off",
  };

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
    const camera = tile.dataset.camera;
    if (conns.has(camera)) return;
    const video = tile.querySelector("video");
    const status = tile.querySelector("[data-status]");
    const pc = new RTCPeerConnection({ iceServers: [] });
    const conn = { pc, retry: null };
    conns.set(camera, conn);
    tile.live = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });  // the camera's sound, if it sends any
    const stream = new MediaStream();
    pc.addEventListener("track", (ev) => {
      stream.addTrack(ev.track);
      video.srcObject = stream;
      video.play().catch(() => {});
    });
    const retry = () => {
      unwatch(camera);
      status.textContent = t("reconnecting…");
      conn.retry = setTimeout(() => { if (!tile.hidden) watch(tile); }, 3000);
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
      const answer = await api.post(`/api/live/${encodeURIComponent(camera)}/offer`, {
        sdp: pc.localDescription.sdp, type: "offer",
      });
      if (conns.get(camera) !== conn) return;  // hidden meanwhile
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

  function unwatch(camera) {
    const conn = conns.get(camera);
    if (!conn) return;
    clearTimeout(conn.retry);
    conn.pc.close();
    conns.delete(camera);
    const tile = byCamera[camera];
    delete tile.live;
    tile.classList.remove("playing");
    tile.querySelector("video").srcObject = null;
  }

  function candidates() {
    return tiles.filter((tile) => !state.group || tile.dataset.group === state.group);
  }

  function render() {
    const pool = candidates();
    const single = state.single && byCamera[state.single];
    const size = single ? 1 : state.layout;
    const pages = Math.max(1, Math.ceil(pool.length / size));
    state.page = Math.min(state.page, pages - 1);
    const shown = single ? [single] : pool.slice(state.page * size, (state.page + 1) * size);
    wall.dataset.layout = String(size);
    wall.classList.toggle("single", Boolean(single));
    for (const tile of tiles) {
      const visible = shown.includes(tile);
      tile.hidden = !visible;
      tile.style.order = visible ? String(shown.indexOf(tile)) : "";
      if (visible) watch(tile); else unwatch(tile.dataset.camera);
    }
    document.getElementById("page-info").textContent = single ? "" : t("page {n} of {m}", { n: state.page + 1, m: pages });
    document.getElementById("page-prev").disabled = single || state.page === 0;
    document.getElementById("page-next").disabled = single || state.page >= pages - 1;
    document.getElementById("back-to-grid").hidden = !single;
    for (const b of document.querySelectorAll(".layout")) {
      b.classList.toggle("active", !single && Number(b.dataset.layout) === state.layout);
    }
    document.getElementById("group").value = state.group;
  }

  function setLayout(n) {
    state.layout = n;
    state.single = null;
    localStorage.setItem("vms-wall-layout", String(n));
    render();
  }

  function showAlone(camera) {
    if (!byCamera[camera]) return false;
    state.single = camera;
    render();
    return true;
  }

  function flash(camera) {
    const tile = byCamera[camera];
    if (!tile) return;
    tile.classList.remove("alarm");
    void tile.offsetWidth;  // restart the animation
    tile.classList.add("alarm");
    setTimeout(() => tile.classList.remove("alarm"), 15000);
  }

  // -- overlays: the analysis's tracks, drawn over the video --------------------------------

  function videoBox(video, tile) {
    // Where the picture is inside the tile (the video keeps its aspect ratio: letterboxed).
    const W = tile.clientWidth, H = tile.clientHeight;
    const vw = video.videoWidth || 16, vh = video.videoHeight || 9;
    const scale = Math.min(W / vw, H / vh);
    return { x: (W - vw * scale) / 2, y: (H - vh * scale) / 2, w: vw * scale, h: vh * scale };
  }

  function draw() {
    const now = Date.now();
    for (const tile of tiles) {
      if (tile.hidden) continue;
      const camera = tile.dataset.camera;
      const canvas = tile.querySelector("canvas.overlay");
      const badge = tile.querySelector("[data-count]");
      const o = overlays.get(camera);
      const W = tile.clientWidth, H = tile.clientHeight;
      if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
      const g = canvas.getContext("2d");
      g.clearRect(0, 0, W, H);
      const fresh = o && now - o.at < 3000;
      badge.hidden = !state.boxes || !o;
      if (o) {
        badge.textContent = fresh ? (o.n === 1 ? t("1 person") : t("{n} people", { n: o.n })) : t("count: not current");
        badge.classList.toggle("stale", !fresh);
        tile.dataset.people = fresh ? String(o.n) : "";
      }
      if (!state.boxes || !fresh) continue;
      const box = videoBox(tile.querySelector("video"), tile);
      const sx = box.w / o.w, sy = box.h / o.h;
      g.lineWidth = 2;
      g.font = "12px sans-serif";
      for (const [id, x1, y1, x2, y2] of o.b) {
        g.strokeStyle = "#3ee07a";
        g.strokeRect(box.x + x1 * sx, box.y + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
        g.fillStyle = "#3ee07a";
        g.fillText(`#${id}`, box.x + x1 * sx + 2, box.y + y1 * sy + 12);
      }
      tile.dataset.boxes = String(o.b.length);
    }
    requestAnimationFrame(draw);
  }

  function overlayFeed() {
    if (!tiles.length) return;
    const q = new URLSearchParams(tiles.map((tile) => ["camera", tile.dataset.camera]));
    const source = new EventSource(`/api/live/overlays?${q}`);
    source.addEventListener("overlay", (ev) => {
      const o = JSON.parse(ev.data);
      o.at = Date.now();
      overlays.set(o.camera, o);
    });
    source.addEventListener("unavailable", (ev) => {
      const camera = JSON.parse(ev.data).camera;
      noAnalysis.add(camera);
      byCamera[camera]?.classList.add("no-analysis");
    });
  }

  // -- controls -------------------------------------------------------------------------------

  for (const b of document.querySelectorAll(".layout")) {
    b.addEventListener("click", () => setLayout(Number(b.dataset.layout)));
  }
  document.getElementById("group").addEventListener("change", (ev) => {
    state.group = ev.target.value;
    state.page = 0;
    state.single = null;
    localStorage.setItem("vms-wall-group", state.group);
    render();
  });
  document.getElementById("page-prev").addEventListener("click", () => { state.page -= 1; render(); });
  document.getElementById("page-next").addEventListener("click", () => { state.page += 1; render(); });
  document.getElementById("back-to-grid").addEventListener("click", () => { state.single = null; render(); });
  document.getElementById("fullscreen").addEventListener("click", () => {
    const panel = document.getElementById("live-layout");
    if (document.fullscreenElement) document.exitFullscreen(); else panel.requestFullscreen?.().catch(() => {});
  });
  const boxes = document.getElementById("show-boxes");
  boxes.checked = state.boxes;
  boxes.addEventListener("change", () => {
    state.boxes = boxes.checked;
    localStorage.setItem("vms-wall-boxes", state.boxes ? "on" : "off");
  });
  for (const tile of tiles) {
    // The wall is silent; a click on a picture listens to that camera (and mutes the others).
    tile.addEventListener("click", () => {
      const video = tile.querySelector("video");
      const listen = video.muted;
      for (const other of tiles) other.querySelector("video").muted = true;
      video.muted = !listen;
    });
    tile.addEventListener("dblclick", () => {
      if (state.single) { state.single = null; render(); } else showAlone(tile.dataset.camera);
    });
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && state.single) { state.single = null; render(); }
  });

  const params = new URLSearchParams(location.search);
  if (params.get("layout")) state.layout = Number(params.get("layout")) || state.layout;
  if (params.get("camera")) state.single = params.get("camera");
  render();
  overlayFeed();
  requestAnimationFrame(draw);
  return { showAlone, flash, render, tiles, byCamera, state };
})();

// -- the alarm: a new critical alert sounds (unless muted) ------------------------------------

const Alarm = (() => {
  const button = document.getElementById("mute");
  let muted = localStorage.getItem("vms-mute") === "yes";
  let audio = null;

  function show() {
    button.textContent = muted ? t("Sound off") : t("Sound on");
    button.setAttribute("aria-pressed", muted ? "true" : "false");
    button.classList.toggle("muted", muted);
  }

  function beep() {
    // Three short tones, made here (no sound file): WebAudio.
    try {
      audio = audio || new AudioContext();
      audio.resume?.();
      for (let i = 0; i < 3; i++) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(audio.destination);
        const at = audio.currentTime + i * 0.3;
        osc.start(at);
        osc.stop(at + 0.18);
      }
    } catch (e) { /* no audio device: the flash still shows */ }
  }

  function sound() {
    const body = document.body.dataset;
    body.alarms = String(Number(body.alarms || 0) + 1);
    if (muted) return;
    body.sounded = String(Number(body.sounded || 0) + 1);
    beep();
  }

  button.addEventListener("click", () => {
    muted = !muted;
    localStorage.setItem("vms-mute", muted ? "yes" : "no");
    show();
  });
  show();
  return { sound };
})();
