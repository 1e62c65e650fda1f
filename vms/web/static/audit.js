"use strict";

async function showReport(id) {
  const r = await api.get(`/api/interviews/${id}/report`);
  const box = document.getElementById("report");
  box.hidden = false;
  document.getElementById("report-title").textContent =
    `Interview ${r.interview.id} of ${r.person.name} in ${r.room.name}`;
  document.getElementById("report-summary").textContent =
    `${utc(r.start)} – ${utc(r.end)} UTC (${Math.round(r.duration_s)} s)${r.in_progress ? ", in progress" : ""} · ` +
    `complete: ${r.complete ? "yes" : "NO"} (continuous: ${r.continuous ? "yes" : "NO"}, sound: ${r.sound ? "yes" : "NO"}) · hash check: ${r.hashes_ok ? "all segments ok" : "FAILED"} · ` +
    `officers: ${r.officers.map((o) => `${o.name} (${o.badge})`).join(", ") || "none"}`;
  box.dataset.continuous = r.continuous ? "yes" : "no";
  box.dataset.complete = r.complete ? "yes" : "no";
  box.dataset.interview = r.interview.id;
  box.dataset.ended = r.in_progress ? "no" : "yes";
  document.getElementById("report-cameras").replaceChildren(...r.cameras.map((c) => {
    const part = el("div", { class: "camera-report", "data-camera": c.camera });
    const play = el("a", { href: `/playback?camera=${encodeURIComponent(c.camera)}&day=${r.start.slice(0, 10)}&t=${encodeURIComponent(r.start)}` }, "play");
    part.append(el("h3", {}, `${c.camera}: ${c.segments.length} segment(s), continuous: ${c.continuous ? "yes" : "no"}, sound: ${c.sound ? "yes" : "no"} `), play);
    const table = el("table", { class: "grid" });
    for (const s of c.segments) {
      const tr = el("tr");
      for (const v of [`segment ${s.id}`, utc(s.start), utc(s.end), (s.sha256 || "").slice(0, 16), s.hash_check]) tr.append(el("td", {}, v));
      table.append(tr);
    }
    for (const g of c.gaps) {
      const tr = el("tr", { class: "gap-row" });
      for (const v of ["GAP", utc(g.start), utc(g.end), `${g.duration_s.toFixed(1)} s`, (g.reasons || []).join("; ")]) tr.append(el("td", {}, v));
      table.append(tr);
    }
    for (const g of c.audio_gaps || []) {
      const tr = el("tr", { class: "gap-row audio-gap-row" });
      for (const v of ["AUDIO GAP", utc(g.start), utc(g.end), `${g.duration_s.toFixed(1)} s`, (g.reasons || []).join("; ")]) tr.append(el("td", {}, v));
      table.append(tr);
    }
    part.append(table);
    return part;
  }));
}

async function refresh() {
  const ivs = await api.get("/api/interviews");
  document.querySelector("#interviews tbody").replaceChildren(...ivs.map((i) => {
    const tr = el("tr", { "data-interview": i.id });
    for (const v of [String(i.id), i.person_name, i.room, i.kind, utc(i.started_at),
      i.ended_at ? utc(i.ended_at) : "in progress", i.recording_incomplete ? "INCOMPLETE" : "complete"]) {
      tr.append(el("td", {}, v));
    }
    tr.addEventListener("click", () => showReport(i.id));
    return tr;
  }));
  const log = await api.get("/api/audit?limit=200");
  document.querySelector("#log tbody").replaceChildren(...log.reverse().map((e) => {
    const tr = el("tr", { "data-seq": e.seq });
    for (const v of [String(e.seq), utc(e.at), e.actor, e.action, `${e.object_type} ${e.object_id}`,
      e.case_number || "", e.reason]) tr.append(el("td", {}, v));
    return tr;
  }));
}

document.getElementById("verify").addEventListener("click", async () => {
  const out = document.getElementById("verify-result");
  out.textContent = "checking…";
  const r = await api.get("/api/audit/verify");
  out.textContent = r.ok ? `chain intact: ${r.entries} entries` : `BROKEN: ${r.problems.map((p) => p.message).join("; ")}`;
  out.className = r.ok ? "badge ok" : "badge bad";
});

refresh();
