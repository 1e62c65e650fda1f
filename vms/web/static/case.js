"use strict";

const caseId = document.getElementById("case").dataset.caseId;
const clipForm = document.getElementById("add-clip");

function custodyCamera() {
  return clipForm.elements.camera_id.selectedOptions[0]?.dataset.custody === "yes";
}
function showReason() { clipForm.querySelector(".reason").hidden = !custodyCamera(); }

async function refresh() {
  const c = await api.get(`/api/cases/${caseId}`);
  document.getElementById("case-number").textContent = t("Case {number}", { number: c.number });
  document.getElementById("case-title").textContent = c.title;
  document.getElementById("case-meta").textContent = t("{status} · owner {owner} · opened {at} by {by}", {
    status: label("case_status", c.status), owner: c.owner, at: when(c.created_at), by: c.created_by,
  });
  document.querySelector("#items tbody").replaceChildren(...c.items.map((i) => {
    const tr = el("tr", { "data-item": i.id });
    const gaps = i.gaps.length ? t("{n} gap(s)", { n: i.gaps.length }) : t("none");
    for (const v of [String(i.id), label("item_kind", i.kind), i.camera_id, localTime(i.start), localTime(i.end),
      i.sha256 ? i.sha256.slice(0, 16) + "…" : "", gaps, i.note, i.created_by]) {
      tr.append(el("td", {}, v));
    }
    const td = el("td");
    if (i.kind === "clip") {
      const b = el("button", { type: "button", class: "small play-clip" }, t("Play"));
      b.addEventListener("click", () => openClip(i));
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
  const list = document.getElementById("exports");
  if (list) {
    list.replaceChildren(...c.exports.map((name) => {
      const li = el("li");
      const base = `/api/cases/${caseId}/exports/${name}`;
      const a = el("a", { href: base, download: name }, name);
      // A download is audited: it carries the reason of the export form (custody footage).
      a.addEventListener("click", () => {
        const why = document.querySelector("#export input[name=reason]")?.value || "";
        a.href = why ? `${base}?reason=${encodeURIComponent(why)}` : base;
      });
      li.append(a);
      return li;
    }));
  }
}

// -- a clip of the case, played from its own file (hash-checked, the view audited) -----------

let shownClip = null;
const player = document.getElementById("clip-player");
const isCustody = (cam) => [...clipForm.elements.camera_id.options].find((o) => o.value === cam)?.dataset.custody === "yes";

function openClip(item) {
  shownClip = item;
  player.hidden = false;
  document.getElementById("clip-title").textContent = t("Clip {id} · {camera}", { id: item.id, camera: item.camera_id });
  document.getElementById("clip-info").textContent = t("{start} – {end} · SHA-256 {sha}", {
    start: when(item.start), end: when(item.end), sha: item.sha256 || "" });
  player.querySelector(".reason").hidden = !isCustody(item.camera_id);
  document.getElementById("clip-play-error").textContent = "";
  const q = new URLSearchParams({ camera: item.camera_id, t: item.start, in: item.start, out: item.end });
  document.getElementById("clip-review").href = `/playback?${q}`;
  if (!isCustody(item.camera_id)) playClip();
  player.scrollIntoView({ block: "nearest" });
}

async function playClip() {
  const error = document.getElementById("clip-play-error");
  error.textContent = "";
  try {
    const reason = document.getElementById("clip-reason").value.trim() || null;
    const p = await api.post(`/api/cases/${caseId}/items/${shownClip.id}/play`, { reason });
    const video = document.getElementById("clip-video");
    video.src = p.url;
    await video.play().catch(() => {});
  } catch (e) { error.textContent = e.message; }
}

document.getElementById("clip-play").addEventListener("click", playClip);
clipForm.elements.camera_id.addEventListener("change", showReason);
showReason();

clipForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const error = document.getElementById("clip-error");
  error.textContent = "";
  try {
    await api.post(`/api/cases/${caseId}/clips`, {
      camera_id: f.camera_id.value, start: fromLocalInput(f.start.value), end: fromLocalInput(f.end.value),
      note: f.note.value, reason: custodyCamera() ? f.reason.value || null : null,
    });
    refresh();
  } catch (e) { error.textContent = e.message; }
});

document.getElementById("export")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("export-error");
  error.textContent = "";
  try {
    await api.post(`/api/cases/${caseId}/exports`, { reason: ev.target.elements.reason.value || null });
    refresh();
  } catch (e) { error.textContent = e.message; }
});

refresh();
