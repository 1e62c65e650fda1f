"use strict";

function hashWord(report) {
  // A segment still being written has no hash yet: that is "recording in progress", not a failure.
  return { ok: t("all segments ok"), in_progress: t("recording in progress"), failed: t("FAILED") }[report.hash_state];
}

async function showReport(id) {
  const r = await api.get(`/api/interviews/${id}/report`);
  const box = document.getElementById("report");
  box.hidden = false;
  document.getElementById("report-title").textContent =
    t("Interview {id} of {person} in {room}", { id: r.interview.id, person: r.person.name, room: r.room.name });
  const officers = r.officers.map((o) => `${o.name} (${o.badge})`).join(", ") || t("none");
  document.getElementById("report-summary").textContent = [
    `${when(r.start)} – ${r.in_progress ? t("in progress") : when(r.end)} (${duration(r.duration_s)})`,
    t("continuous: {v}", { v: r.continuous ? t("yes") : t("NO") }),
    t("hash check: {v}", { v: hashWord(r) }),
    t("officers: {v}", { v: officers }),
  ].join(" · ");
  box.dataset.continuous = r.continuous ? "yes" : "no";
  document.getElementById("report-cameras").replaceChildren(...r.cameras.map((c) => {
    const part = el("div", { class: "camera-report", "data-camera": c.camera });
    const play = el("a", { href: `/playback?camera=${encodeURIComponent(c.camera)}&t=${encodeURIComponent(r.start)}` }, t("play"));
    part.append(el("h3", {}, t("{camera}: {n} segment(s), continuous: {v}", {
      camera: c.camera, n: c.segments.length, v: c.continuous ? t("yes") : t("no") }) + " "), play);
    const table = el("table", { class: "grid" });
    for (const s of c.segments) {
      const tr = el("tr");
      for (const v of [t("segment {id}", { id: s.id }), localTime(s.start), s.end ? localTime(s.end) : t("recording"),
        (s.sha256 || "").slice(0, 16), label("hash_check", s.hash_check)]) tr.append(el("td", {}, v));
      table.append(tr);
    }
    for (const g of c.gaps) {
      const tr = el("tr", { class: "gap-row" });
      for (const v of [t("GAP"), localTime(g.start), localTime(g.end), duration(g.duration_s), (g.reasons || []).join("; ")]) tr.append(el("td", {}, v));
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
    for (const v of [String(i.id), i.person_name, i.room, label("room_type", i.kind), localTime(i.started_at),
      i.ended_at ? localTime(i.ended_at) : t("in progress"), i.recording_incomplete ? t("INCOMPLETE") : t("complete")]) {
      tr.append(el("td", {}, v));
    }
    tr.addEventListener("click", () => showReport(i.id));
    return tr;
  }));
  const log = await api.get("/api/audit?limit=200");
  document.querySelector("#log tbody").replaceChildren(...log.reverse().map((e) => {
    const tr = el("tr", { "data-seq": e.seq });
    for (const v of [String(e.seq), localTime(e.at), e.actor, label("audit_action", e.action), `${e.object_type} ${e.object_id}`,
      e.case_number || "", e.reason]) tr.append(el("td", {}, v));
    return tr;
  }));
}

document.getElementById("verify").addEventListener("click", async () => {
  const out = document.getElementById("verify-result");
  out.textContent = t("checking…");
  const r = await api.get("/api/audit/verify");
  out.textContent = r.ok ? t("chain intact: {n} entries", { n: r.entries })
    : t("BROKEN: {problems}", { problems: r.problems.map((p) => p.message).join("; ") });
  out.className = r.ok ? "badge ok" : "badge bad";
});

refresh();
