// Custody: rooms (people held by the ledger, people seen on video), people held with their
// legal clock counting down, interviews in progress, open alerts with their escalation level.
// Refreshed every 5 s; clocks tick every second.
"use strict";

let held = [];
const names = {};

function left(deadline) {
  const s = Math.round((Date.parse(deadline) - Date.now()) / 1000);
  const a = Math.abs(s);
  const text = `${Math.floor(a / 3600)}h ${String(Math.floor((a % 3600) / 60)).padStart(2, "0")}m ${String(a % 60).padStart(2, "0")}s`;
  return s < 0 ? `OVER by ${text}` : text;
}

function tick() {
  for (const p of held) {
    const cell = document.querySelector(`#held tr[data-person="${p.id}"] .left`);
    if (!cell) continue;
    cell.textContent = left(p.deadline);
    const mins = (Date.parse(p.deadline) - Date.now()) / 60000;
    cell.className = "left " + (mins < 0 ? "over" : mins < 60 ? "soon" : "");
  }
}

async function refresh() {
  const st = await api.get("/api/custody/status");
  document.getElementById("as-of").textContent = `as of ${utc(st.now)} UTC`;
  held = st.held;
  for (const p of held) names[p.id] = p.name;
  document.getElementById("rooms").replaceChildren(...st.rooms.map((r) => {
    const card = el("div", { class: "room" + (r.held.length ? " occupied" : ""), "data-room": r.id });
    card.append(el("strong", {}, r.name), el("div", { class: "hint" }, `${r.type} · ${r.site}`));
    card.append(el("div", { class: "ledger" }, r.held.length ? `${r.held.length} held: ${r.held.map((id) => names[id]).join(", ")}` : "empty"));
    if (r.cameras.length) {
      const v = r.video;
      const known = v.count !== null;
      const seen = v.seen_at ? ` (last seen ${utc(v.seen_at)} UTC)` : "";
      card.append(el("div", { class: "video" + (known ? "" : " unknown"), "data-video-count": known ? v.count : "unknown" },
        known ? `on video: ${v.count} ${v.count === 1 ? "person" : "people"}` : `on video: unknown${seen}`));
    }
    if (r.interview) card.append(el("div", { class: "badge ok" }, "interview in progress"));
    return card;
  }));
  document.querySelector("#held tbody").replaceChildren(...held.map((p) => {
    const tr = el("tr", { "data-person": p.id });
    for (const v of [p.name, p.case_number || "", `${p.legal_basis} (${p.limit_h} h)`, p.room,
      utc(p.entered_at), utc(p.deadline)]) tr.append(el("td", {}, v));
    tr.append(el("td", { class: "left" }, left(p.deadline)));
    tr.append(el("td", {}, p.risk), el("td", {}, p.next_check_due ? utc(p.next_check_due) : "–"));
    return tr;
  }));
  document.querySelector("#interviews tbody").replaceChildren(...st.interviews.map((i) => {
    const tr = el("tr", { "data-interview": i.id });
    const officers = i.officers.map((o) => `${o.name} (${o.badge})`).join(", ");
    for (const v of [String(i.id), names[i.person] || String(i.person), i.room, i.kind, officers,
      utc(i.started_at)]) tr.append(el("td", {}, v));
    return tr;
  }));
  document.getElementById("custody-alerts").replaceChildren(...st.alerts.map((a) => {
    const li = el("li", { class: `alert sev-${a.severity}${a.ack_at ? " acked" : ""}`, "data-alert": a.id });
    const what = el("div", { class: "what" });
    what.append(el("span", { class: "sev" }, `${a.severity} · level ${a.level}${a.level_to ? " → " + a.level_to : ""}`), " ",
      el("strong", {}, a.type.replaceAll("_", " ")),
      el("div", {}, a.message), el("time", {}, `${utc(a.raised_at)} UTC`));
    if (a.ack_at) {
      what.append(el("div", { class: "ack-line" }, `✓ ${a.acknowledged_by} ${utc(a.ack_at)}: ${a.ack_note}`));
    } else {
      const form = el("form", { class: "ack" });
      form.append(el("input", { name: "note", placeholder: "Note (required)", required: "" }),
        el("button", { type: "submit" }, "Acknowledge"));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          await api.post(`/api/custody/alerts/${a.id}/ack`, { note: form.elements.note.value });
          refresh();
        } catch (e) { alert(e.message); }
      });
      what.append(form);
    }
    li.append(what);
    return li;
  }));
}

refresh();
setInterval(refresh, 5000);
setInterval(tick, 1000);
