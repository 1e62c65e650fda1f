// Officers, recorders (with who holds each), duty shifts and the docks' status.
"use strict";

const adminError = document.getElementById("admin-error");
function fill(id, rows) { document.querySelector(`#${id} tbody`).replaceChildren(...rows); }
function tr(values) { const r = el("tr"); for (const v of values) r.append(el("td", {}, String(v ?? ""))); return r; }

async function refresh() {
  const [officers, devices, shifts, docks] = await Promise.all([
    api.get("/api/bodyworn/officers"), api.get("/api/bodyworn/devices"),
    api.get("/api/bodyworn/shifts"), api.get("/api/bodyworn/docks"),
  ]);
  fill("officers", officers.map((o) => tr([o.badge, o.name, o.unit, o.username, o.device])));
  fill("devices", devices.map((d) => tr([d.serial, d.model, d.officer, d.registered ? t("yes") : t("seen in a file"),
    d.history.map((a) => `${a.badge} ${localTime(a.start)}–${a.end ? localTime(a.end) : t("now")}`).join("; ")])));
  fill("shifts", shifts.map((s) => tr([s.name, s.serial, s.badge, localTime(s.start), localTime(s.end), s.event_id ? t("alert {id}", { id: s.event_id }) : ""])));
  fill("docks", docks.map((d) => tr([d.dock, d.path, d.bytes, label("dock_status", d.status), d.message])));
}

function form(id, url, body) {
  document.getElementById(id).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    adminError.textContent = "";
    try { await api.post(url(ev.target), body(ev.target)); ev.target.reset(); await refresh(); }
    catch (e) { adminError.textContent = e.message; }
  });
}

const value = (f, n) => f.elements[n].value.trim() || null;
form("new-officer", () => "/api/bodyworn/officers", (f) => ({
  badge: value(f, "badge"), name: value(f, "name"), unit: value(f, "unit") || "", username: value(f, "username"),
}));
form("new-device", () => "/api/bodyworn/devices", (f) => ({ serial: value(f, "serial"), model: value(f, "model") || "" }));
form("assign", (f) => `/api/bodyworn/devices/${encodeURIComponent(value(f, "serial"))}/assignments`, (f) => ({
  badge: value(f, "badge"), start: fromLocalInput(f.elements.start.value),
}));
form("new-shift", () => "/api/bodyworn/shifts", (f) => ({
  serial: value(f, "serial"), name: value(f, "name") || "", start: fromLocalInput(f.elements.start.value), end: fromLocalInput(f.elements.end.value),
}));
document.getElementById("return").addEventListener("click", async () => {
  const f = document.getElementById("assign");
  try { await api.post(`/api/bodyworn/devices/${encodeURIComponent(value(f, "serial"))}/return`, {}); await refresh(); }
  catch (e) { adminError.textContent = e.message; }
});

refresh().catch((e) => { adminError.textContent = e.message; });
