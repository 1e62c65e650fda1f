// Shared by every page: JSON calls to the API (with the header that proves a same-site
// request) and the log-out button.
"use strict";

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
      throw new Error("not logged in");
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

function utc(iso) {
  // "2026-11-27T10:15:02.123456+00:00" -> "2026-11-27 10:15:02"
  return iso ? iso.replace("T", " ").slice(0, 19) : "–";
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
