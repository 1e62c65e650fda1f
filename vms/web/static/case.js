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
