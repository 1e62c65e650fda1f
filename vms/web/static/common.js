// Shared by every page: JSON calls to the API (with the header that proves a same-site
// request), the reader's language (t() and label()) and the site's time zone (when, local inputs),
// the language menu and the log-out button.
"use strict";

const I18N = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
const TZ = I18N.tz || "UTC";

function t(message, params) {
  // The translation of an English message; {name} placeholders are filled from params.
  const text = (I18N.messages && I18N.messages[message]) || message;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

function label(kind, value) {
  // A stored value ("person_down") as the reader calls it.
  if (value === null || value === undefined) return "–";
  return (I18N.labels && I18N.labels[kind] && I18N.labels[kind][value]) || String(value).replaceAll("_", " ");
}

const api = {
  async call(method, url, body) {
    const init = { method, headers: { "X-Requested-With": "vms" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    if (res.status === 401 && !location.pathname.startsWith("/login")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error(t("not logged in"));
    }
    const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
    if (!res.ok) {
      const err = new Error(data?.message || `${res.status} ${res.statusText}`);
      err.status = res.status;
      throw err;
    }
    return data;
  },
  get(url) { return this.call("GET", url); },
  post(url, body) { return this.call("POST", url, body ?? {}); },
  patch(url, body) { return this.call("PATCH", url, body); },
};

// -- time: stored in UTC, shown in the site's zone ---------------------------------------

const localFormat = new Intl.DateTimeFormat("sv-SE", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

function localTime(when) {
  // "2026-11-27 18:15:02" in the site's zone, from an ISO string, a Date or milliseconds.
  if (when === null || when === undefined || when === "") return "–";
  const d = when instanceof Date ? when : new Date(when);
  return Number.isNaN(d.getTime()) ? "–" : localFormat.format(d).replace("T", " ");
}

function zoneOffsetMin(ms) {
  // Minutes the site's zone is ahead of UTC at that instant.
  const p = Object.fromEntries(localFormat.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

function zoneName(ms) {
  const m = zoneOffsetMin(ms ?? Date.now());
  if (m === 0) return "UTC";
  const h = Math.floor(Math.abs(m) / 60), r = Math.abs(m) % 60;
  return `UTC${m > 0 ? "+" : "-"}${h}${r ? ":" + String(r).padStart(2, "0") : ""}`;
}

function when(iso) {
  // A time with its zone: "2026-11-27 18:15:02 UTC+8".
  if (!iso) return "–";
  return `${localTime(iso)} ${zoneName(new Date(iso).getTime())}`;
}

function clockTime(msOrIso) { return localTime(msOrIso).slice(11); }

function localInput(ms) {
  // The value of a datetime-local input showing that instant in the site's zone.
  return localTime(ms).replace(" ", "T");
}

function fromLocalInput(value) {
  // A datetime-local (or date) value read in the site's zone -> UTC ISO 8601, or null.
  if (!value) return null;
  const v = value.length === 10 ? value + "T00:00:00" : value.length === 16 ? value + ":00" : value;
  const naive = Date.parse(v + "Z");
  if (Number.isNaN(naive)) return null;
  let ms = naive - zoneOffsetMin(naive) * 60000;
  ms = naive - zoneOffsetMin(ms) * 60000;  // again at the instant itself (zone changes)
  return new Date(ms).toISOString();
}

function localDay(ms) { return localTime(ms ?? Date.now()).slice(0, 10); }

function duration(seconds) {
  // "2 d 3 h", "3 h 05 min", "4 min 10 s", "42 s": huge spans read as days and hours.
  const s = Math.round(Math.abs(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  let text;
  if (d) text = t("{d} d {h} h", { d, h });
  else if (h) text = t("{h} h {m} min", { h, m: two(m) });
  else if (m) text = t("{m} min {s} s", { m, s: two(sec) });
  else text = t("{s} s", { s: sec });
  return seconds < 0 && s ? "-" + text : text;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try { await api.post("/api/auth/logout"); } finally { location.href = "/login"; }
});

document.getElementById("language")?.addEventListener("change", async (ev) => {
  const language = ev.target.value;
  document.cookie = `vms_lang=${language}; path=/; SameSite=Strict; max-age=31536000`;
  if (document.getElementById("logout")) {
    try { await api.patch("/api/auth/me", { language }); } catch (e) { /* the cookie still holds */ }
  }
  location.reload();
});
