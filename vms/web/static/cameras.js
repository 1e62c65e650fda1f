"use strict";

const body = document.querySelector("#cameras tbody");

function kbps(bps) { return bps ? t("{n} kb/s", { n: (bps / 1000).toFixed(0) }) : "–"; }

async function refresh() {
  let cams;
  try { cams = await api.get("/api/cameras"); } catch (e) { return; }
  body.replaceChildren(...cams.map((c) => {
    const tr = el("tr", { "data-camera": c.id });
    const status = el("span", { class: c.online ? "badge ok" : "badge bad" },
      c.online ? t("online") : t("offline ({state})", { state: label("camera_state", c.state) }));
    const cells = [
      c.name, label("camera_kind", c.kind), [c.site, c.room].filter(Boolean).join(" / "), status,
      c.fps.toFixed(1), kbps(c.bitrate_bps), String(c.packets_skipped + c.analysis_frames_dropped),
      String(c.reconnects), localTime(c.last_packet_at), c.last_error || "",
    ];
    for (const v of cells) {
      const td = el("td");
      if (v instanceof Node) td.append(v); else td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

refresh();
setInterval(refresh, 2000);
