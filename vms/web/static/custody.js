// Custody: rooms (people held by the ledger, people seen on video), people held with their
// legal clock counting down, interviews in progress, open alerts with their escalation level.
// Refreshed every 5 s; clocks tick every second.
"use strict";

let held = [];
const names = {};

function hms(seconds) {
  const s = Math.abs(seconds);
  const two = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

function left(deadline) {
  // The legal clock ticks by the second: "11:59:42", or how long it is over.
  const s = Math.round((Date.parse(deadline) - Date.now()) / 1000);
  return s < 0 ? t("OVER by {d}", { d: hms(-s) }) : hms(s);
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
  document.getElementById("as-of").textContent = t("as of {at}", { at: when(st.now) });
  held = st.held;
  for (const p of held) names[p.id] = p.name;
  document.getElementById("rooms").replaceChildren(...st.rooms.map((r) => {
    const card = el("div", { class: "room" + (r.held.length ? " occupied" : ""), "data-room": r.id });
    card.append(el("strong", {}, r.name), el("div", { class: "hint" }, `${label("room_type", r.type)} · ${r.site}`));
    card.append(el("div", { class: "ledger" }, r.held.length ? t("{n} held: {names}", { n: r.held.length, names: r.held.map((id) => names[id]).join(", ") }) : t("empty")));
    if (r.cameras.length) {
      const v = r.video;
      const known = v.count !== null;
      const seen = v.seen_at ? t(" (last seen {at})", { at: when(v.seen_at) }) : "";
      card.append(el("div", { class: "video" + (known ? "" : " unknown"), "data-video-count": known ? v.count : "unknown" },
        known ? (v.count === 1 ? t("on video: 1 person") : t("on video: {n} people", { n: v.count })) : t("on video: unknown") + seen));
    }
    if (r.interview) card.append(el("div", { class: "badge ok" }, t("interview in progress")));
    return card;
  }));
  document.querySelector("#held tbody").replaceChildren(...held.map((p) => {
    const tr = el("tr", { "data-person": p.id });
    for (const v of [p.name, p.case_number || "", t("{basis} ({h} h)", { basis: p.legal_basis_title, h: p.limit_h }), p.room,
      localTime(p.entered_at), localTime(p.deadline)]) tr.append(el("td", {}, v));
    tr.append(el("td", { class: "left" }, left(p.deadline)));
    tr.append(el("td", {}, label("risk", p.risk)), el("td", {}, p.next_check_due ? localTime(p.next_check_due) : "–"));
    return tr;
  }));
  document.querySelector("#interviews tbody").replaceChildren(...st.interviews.map((i) => {
    const tr = el("tr", { "data-interview": i.id });
    const officers = i.officers.map((o) => `${o.name} (${o.badge})`).join(", ");
    for (const v of [String(i.id), names[i.person] || String(i.person), i.room, label("room_type", i.kind), officers,
      localTime(i.started_at)]) tr.append(el("td", {}, v));
    return tr;
  }));
  document.getElementById("custody-alerts").replaceChildren(...st.alerts.map((a) => {
    const li = el("li", { class: `alert sev-${a.severity}${a.ack_at ? " acked" : ""}`, "data-alert": a.id });
    const what = el("div", { class: "what" });
    what.append(el("span", { class: "sev" }, t("{severity} · level {n}", { severity: label("severity", a.severity), n: a.level }) + (a.level_to ? " → " + a.level_to : "")), " ",
      el("strong", {}, label("alert_type", a.type)),
      el("div", {}, a.message), el("time", {}, when(a.raised_at)));
    if (a.ack_at) {
      what.append(el("div", { class: "ack-line" }, `✓ ${a.acknowledged_by} ${localTime(a.ack_at)}: ${a.ack_note}`));
    } else {
      const form = el("form", { class: "ack" });
      form.append(el("input", { name: "note", placeholder: t("Note (required)"), required: "" }),
        el("button", { type: "submit" }, t("Acknowledge")));
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
