// Custody desk: the floor view of each custody area (its rooms, who the ledger puts there,
// how many people its cameras see now, its open alerts), people held with their legal clocks
// and the forms of the ledger (register, move, risk, observation round, interview, release),
// interviews in progress, open alerts with their escalation level. Refreshed every 5 s;
// clocks tick every second.
"use strict";

const ROOM_ORDER = ["duty", "holding", "interrogation", "inquiry", "mediation", "cell", "service_hall"];
const deskError = document.getElementById("desk-error");
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

function clockClass(deadline) {
  const mins = (Date.parse(deadline) - Date.now()) / 60000;
  return mins < 0 ? "over" : mins < 60 ? "soon" : "";
}

function tick() {
  for (const cell of document.querySelectorAll("[data-deadline]")) {
    cell.textContent = left(cell.dataset.deadline);
    cell.classList.remove("over", "soon");
    const c = clockClass(cell.dataset.deadline);
    if (c) cell.classList.add(c);
  }
}

function clock(deadline, cls) {
  return el("span", { class: `${cls} ${clockClass(deadline)}`, "data-deadline": deadline }, left(deadline));
}

// -- the floor view --------------------------------------------------------------------

function roomCard(r, alerts) {
  const card = el("div", { class: `room type-${r.type}` + (r.held.length ? " occupied" : "") + (alerts.length ? " alerting" : ""), "data-room": r.id });
  card.append(el("strong", { class: "name" }, r.name), el("div", { class: "hint" }, label("room_type", r.type)));
  const people = el("div", { class: "ledger" });
  if (!r.held.length) people.append(el("span", { class: "hint" }, t("empty")));
  for (const id of r.held) {
    const p = held.find((x) => x.id === id);
    const chip = el("span", { class: "person", "data-person": id }, names[id] || String(id));
    if (p) chip.append(" ", clock(p.deadline, "chip-clock"));
    people.append(chip);
  }
  card.append(people);
  if (r.cameras.length) {
    const v = r.video;
    const known = v.count !== null;
    const seen = v.seen_at ? t(" (last seen {at})", { at: when(v.seen_at) }) : "";
    card.append(el("div", { class: "video" + (known ? "" : " unknown"), "data-video-count": known ? v.count : "unknown" },
      known ? (v.count === 1 ? t("on video: 1 person") : t("on video: {n} people", { n: v.count })) : t("on video: unknown") + seen));
  } else {
    card.append(el("div", { class: "video unknown" }, t("no camera")));
  }
  if (r.interview) card.append(el("div", { class: "badge ok" }, t("interview in progress")));
  if (alerts.length) {
    const list = el("ul", { class: "room-alerts" });
    for (const a of alerts) {
      list.append(el("li", { class: `sev-${a.severity} level-${Math.min(a.level, 3)}`, "data-alert": a.id },
        `${label("alert_type", a.type)} · ${t("Level {n}", { n: a.level })}`));
    }
    card.append(list);
  }
  return card;
}

function drawFloor(st) {
  const bySite = new Map();
  for (const r of st.rooms) {
    if (!bySite.has(r.site)) bySite.set(r.site, []);
    bySite.get(r.site).push(r);
  }
  const sections = [];
  for (const [site, rooms] of bySite) {
    rooms.sort((a, b) => ROOM_ORDER.indexOf(a.type) - ROOM_ORDER.indexOf(b.type) || a.name.localeCompare(b.name));
    const section = el("div", { class: "site", "data-site": site });
    section.append(el("h2", {}, site));
    const grid = el("div", { class: "rooms" });
    for (const r of rooms) grid.append(roomCard(r, st.alerts.filter((a) => a.room === r.id && !a.ack_at)));
    section.append(grid);
    sections.push(section);
  }
  document.getElementById("rooms").replaceChildren(...sections);
}

// -- tables ------------------------------------------------------------------------------

function actionButton(text, dialog, person) {
  const b = el("button", { type: "button", class: "small", "data-action": dialog }, text);
  b.addEventListener("click", () => openDialog(dialog, person));
  return b;
}

function drawHeld() {
  document.querySelector("#held tbody").replaceChildren(...held.map((p) => {
    const tr = el("tr", { "data-person": p.id });
    for (const v of [p.name, p.case_number || "", t("{basis} ({h} h)", { basis: p.legal_basis_title, h: p.limit_h }),
      roomName(p.room), localTime(p.entered_at), localTime(p.deadline)]) tr.append(el("td", {}, v));
    const cell = el("td");
    cell.append(clock(p.deadline, "left"));
    tr.append(cell, el("td", {}, label("risk", p.risk)), el("td", {}, p.next_check_due ? localTime(p.next_check_due) : "–"));
    const actions = el("td", { class: "actions" });
    actions.append(actionButton(t("Move"), "move", p), actionButton(t("Risk"), "risk", p),
      actionButton(t("Round"), "check", p), actionButton(t("Interview"), "interview", p),
      actionButton(t("Release"), "exit", p));
    tr.append(actions);
    return tr;
  }));
}

let rooms = {};
function roomName(id) { return rooms[id] || id; }

function drawInterviews(list) {
  document.querySelector("#interviews tbody").replaceChildren(...list.map((i) => {
    const tr = el("tr", { "data-interview": i.id });
    const officers = i.officers.map((o) => `${o.name} (${o.badge})`).join(", ");
    for (const v of [String(i.id), names[i.person] || String(i.person), roomName(i.room), label("room_type", i.kind), officers,
      localTime(i.started_at)]) tr.append(el("td", {}, v));
    const td = el("td");
    td.append(actionButton(t("End"), "end", { id: i.id, name: names[i.person] || "", interview: i }));
    tr.append(td);
    return tr;
  }));
}

function drawAlerts(alerts) {
  document.getElementById("custody-alerts").replaceChildren(...alerts.map((a) => {
    const li = el("li", { class: `alert sev-${a.severity}${a.ack_at ? " acked" : ""}`, "data-alert": a.id });
    const what = el("div", { class: "what" });
    what.append(el("span", { class: "sev" }, t("{severity} · level {n}", { severity: label("severity", a.severity), n: a.level }) + (a.level_to ? " → " + a.level_to : "")), " ",
      el("strong", {}, label("alert_type", a.type)),
      el("div", { class: "message" }, a.message), el("time", {}, when(a.raised_at)));
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
        } catch (e) { deskError.textContent = e.message; }
      });
      what.append(form);
    }
    li.append(what);
    return li;
  }));
}

async function refresh() {
  const st = await api.get("/api/custody/status");
  document.getElementById("as-of").textContent = t("as of {at}", { at: when(st.now) });
  held = st.held;
  rooms = Object.fromEntries(st.rooms.map((r) => [r.id, r.name]));
  for (const p of held) names[p.id] = p.name;
  drawFloor(st);
  drawHeld();
  drawInterviews(st.interviews);
  drawAlerts(st.alerts);
}

// -- the ledger's forms --------------------------------------------------------------------

const ENDPOINT = {
  enter: () => "/api/custody/people",
  move: (p) => `/api/custody/people/${p.id}/move`,
  risk: (p) => `/api/custody/people/${p.id}/risk`,
  check: (p) => `/api/custody/people/${p.id}/checks`,
  interview: (p) => `/api/custody/people/${p.id}/interviews`,
  end: (p) => `/api/custody/interviews/${p.id}/end`,
  exit: (p) => `/api/custody/people/${p.id}/exit`,
};

function body(name, f) {
  const at = f.elements.at ? fromLocalInput(f.elements.at.value) : null;
  const val = (k) => f.elements[k].value.trim();
  switch (name) {
    case "enter": {
      const limit = val("limit_h");
      return { name: val("name"), reason: val("reason"), basis: val("basis"), room: val("room"), risk: val("risk"),
        id_number: val("id_number") || null, case_number: val("case_number") || null,
        limit_h: limit ? Number(limit) : null, at };
    }
    case "move": return { room: val("room"), at };
    case "risk": return { risk: val("risk") };
    case "interview": {
      const officers = [...f.querySelectorAll(".officer")].map((row) => ({
        name: row.querySelector("[name=officer_name]").value.trim(),
        badge: row.querySelector("[name=officer_badge]").value.trim(),
      })).filter((o) => o.name || o.badge);
      return { room: val("room") || null, officers, at };
    }
    default: return { note: val("note") || null, at };
  }
}

let subject = null;  // the person (or interview) a dialog acts on

function openDialog(name, who) {
  subject = who;
  const dialog = document.getElementById(`${name}-dialog`);
  const form = dialog.querySelector("form");
  form.reset();
  form.querySelector(".error").textContent = "";
  const whoBox = dialog.querySelector(".who");
  if (whoBox && who) whoBox.textContent = who.name ? `· ${who.name}` : "";
  if (name === "risk" && who) form.elements.risk.value = who.risk;
  if (name === "move" && who) {
    const other = [...form.elements.room.options].find((o) => o.value !== who.room);
    if (other) form.elements.room.value = other.value;
  }
  if (name === "enter") showLimit(form);
  dialog.showModal();
}

function showLimit(form) {
  const opt = form.elements.basis.selectedOptions[0];
  const custom = opt && opt.dataset.limit === "";
  form.querySelector(".limit").hidden = !custom;
  form.elements.limit_h.required = custom;
}

for (const name of Object.keys(ENDPOINT)) {
  const dialog = document.getElementById(`${name}-dialog`);
  const form = dialog.querySelector("form");
  dialog.querySelector(".cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".error");
    error.textContent = "";
    try {
      await api.post(ENDPOINT[name](subject), body(name, form));
      dialog.close();
      await refresh();
    } catch (e) { error.textContent = e.message; }
  });
}

const enterForm = document.getElementById("enter");
enterForm.elements.basis.addEventListener("change", () => showLimit(enterForm));
document.getElementById("open-enter").addEventListener("click", () => openDialog("enter", null));
document.getElementById("add-officer").addEventListener("click", (ev) => {
  const rows = document.querySelectorAll("#interview .officer");
  const copy = rows[rows.length - 1].cloneNode(true);
  for (const input of copy.querySelectorAll("input")) { input.value = ""; input.required = false; }
  ev.target.before(copy);
});

refresh().catch((e) => { deskError.textContent = e.message; });
setInterval(() => refresh().catch((e) => { deskError.textContent = e.message; }), 5000);
setInterval(tick, 1000);
