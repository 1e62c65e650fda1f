// Body-worn footage: search, a file's record and what the user may do with it (play,
// download, ask for approval, category, case), uploads, approval requests.
"use strict";

const search = document.getElementById("search");
const tbody = document.querySelector("#files tbody");
const detail = document.getElementById("detail");
const video = document.getElementById("video");
const detailError = document.getElementById("detail-error");
const approveAll = document.getElementById("flags").dataset.approve === "yes";
let current = null;  // the file detail shown

function reason() { return document.getElementById("reason").value.trim(); }

async function find(ev) {
  ev?.preventDefault();
  const params = new URLSearchParams();
  for (const name of ["officer", "unit", "device", "case", "lat", "lon", "radius_m"]) {
    const v = search.elements[name].value.trim();
    if (v) params.set(name, v);
  }
  for (const name of ["start", "end"]) {
    if (search.elements[name].value) params.set(name, fromLocalInput(search.elements[name].value));
  }
  if (search.elements.late.checked) params.set("late", "true");
  const error = document.getElementById("search-error");
  error.textContent = "";
  try {
    const out = await api.get(`/api/bodyworn/files?${params}`);
    tbody.replaceChildren(...out.files.map(row));
  } catch (e) { error.textContent = e.message; }
}

function row(f) {
  const tr = el("tr", { "data-file": f.id, class: f.late ? "late" : "" });
  const lateness = f.late ? t("late by {time}", { time: duration(f.lateness_s) }) : t("on time");
  for (const v of [f.device, f.officer ? `${f.officer} ${f.officer_name}` : t("(unassigned)"),
    f.unit || "", `${localTime(f.start)} (${label("time_source", f.time_source)})`,
    f.duration_s.toFixed(0), `${f.video_codec}/${f.audio_codec || "-"}`,
    `${localTime(f.ingested_at)} ${lateness}`, label("bodyworn_category", f.category),
    f.cases.join(", ")]) tr.append(el("td", {}, v));
  tr.addEventListener("click", () => show(f.id));
  return tr;
}

async function show(id) {
  detailError.textContent = "";
  current = await api.get(`/api/bodyworn/files/${id}`);
  const f = current.file;
  detail.hidden = false;
  document.getElementById("detail-title").textContent = `${f.device} · ${when(f.start)}`;
  const facts = [
    [t("Officer"), f.officer ? `${f.officer} ${f.officer_name} (${f.unit}), ${label("officer_source", f.officer_source)}` : t("nobody (unassigned recorder)")],
    [t("Recorded"), `${when(f.start)} – ${localTime(f.end)} (${duration(f.duration_s)}, ${label("time_source", f.time_source)})`],
    [t("File"), `${f.original_name} · ${f.container} · ${f.video_codec} ${f.width}x${f.height} · ${t("audio")} ${f.audio_codec || "–"} · ${f.bytes} B`],
    ["SHA-256", f.sha256],
    [t("Uploaded"), `${when(f.ingested_at)} · ${f.ingested_by} (${f.source}${f.dock_id ? " " + f.dock_id : ""}) · ${f.late ? t("late by {time}", { time: duration(f.lateness_s) }) : t("on time")}`],
    ["GPS", f.gps.length ? f.gps.map((p) => `${p[1].toFixed(5)},${p[2].toFixed(5)}`).slice(0, 5).join(" → ") : "–"],
    [t("Retention category"), `${label("bodyworn_category", f.category)}${f.category_reason ? " (" + f.category_reason + ")" : ""}`],
    [t("Cases"), current.links.map((l) => l.case_number).join(", ") || "–"],
  ];
  document.getElementById("detail-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const a = current.access;
  document.getElementById("access-note").textContent = a.own
    ? t("Your own file.")
    : a.can_view ? t("Approved until {time} (approval {id}).", { time: when(a.valid_until), id: a.approval_id })
      : t("Not your file: viewing or copying it needs a supervisor's approval.");
  document.getElementById("play").disabled = !a.can_view;
  const dl = document.getElementById("download");
  dl.hidden = !a.can_copy;
  document.getElementById("request-row").hidden = a.own;
  const cs = document.getElementById("clip-start");
  if (cs) { cs.value = localInput(f.start); document.getElementById("clip-end").value = localInput(f.end); }
  video.removeAttribute("src");
}

document.getElementById("play").addEventListener("click", async () => {
  detailError.textContent = "";
  try {
    const p = await api.post(`/api/bodyworn/files/${current.file.id}/play`, { reason: reason() });
    if (!p.playable) detailError.textContent = t("H.265: this browser may not decode it; download the original to play it.");
    video.src = p.url;
    await video.play().catch(() => {});
  } catch (e) { detailError.textContent = e.message; }
});

document.getElementById("download").addEventListener("click", (ev) => {
  ev.preventDefault();
  location.href = `/api/bodyworn/files/${current.file.id}/download?reason=${encodeURIComponent(reason())}`;
});

document.getElementById("request").addEventListener("click", async () => {
  detailError.textContent = "";
  try {
    const action = document.getElementById("request-action").value;
    await api.post(`/api/bodyworn/files/${current.file.id}/approvals`, { action, reason: reason() });
    await loadApprovals();
    detailError.textContent = t("Requested: a supervisor decides.");
  } catch (e) { detailError.textContent = e.message; }
});

document.getElementById("set-category")?.addEventListener("click", async () => {
  try {
    await api.post(`/api/bodyworn/files/${current.file.id}/category`, {
      category: document.getElementById("category").value, reason: reason(),
    });
    await show(current.file.id);
  } catch (e) { detailError.textContent = e.message; }
});

document.getElementById("link")?.addEventListener("click", async () => {
  try {
    await api.post(`/api/bodyworn/files/${current.file.id}/cases`, {
      case_number: document.getElementById("link-case").value.trim(), reason: reason() || t("linked from the body-worn page"),
    });
    await show(current.file.id);
  } catch (e) { detailError.textContent = e.message; }
});

document.getElementById("clip")?.addEventListener("click", async () => {
  try {
    const item = await api.post(`/api/bodyworn/files/${current.file.id}/clips`, {
      case_number: document.getElementById("link-case").value.trim(),
      start: fromLocalInput(document.getElementById("clip-start").value),
      end: fromLocalInput(document.getElementById("clip-end").value),
      reason: reason() || t("clip from the body-worn page"),
    });
    detailError.textContent = t("Clip {id} added (SHA-256 {sha}).", { id: item.id, sha: item.sha256 });
  } catch (e) { detailError.textContent = e.message; }
});

async function loadApprovals() {
  const list = await api.get("/api/bodyworn/approvals");
  const body = document.querySelector("#approvals tbody");
  body.replaceChildren(...list.map((a) => {
    const tr = el("tr", { "data-approval": a.id });
    for (const v of [a.id, a.file_id, label("approval_action", a.action), a.requested_by, a.reason,
      label("approval_status", a.status), localTime(a.valid_until)]) tr.append(el("td", {}, String(v ?? "")));
    const td = el("td");
    if (approveAll && a.status === "pending") {
      for (const [text, grant] of [[t("Grant"), true], [t("Refuse"), false]]) {
        const b = el("button", { type: "button" }, text);
        b.addEventListener("click", async () => {
          const why = prompt(grant ? t("Reason for granting (audited)") : t("Reason for refusing (audited)"));
          if (!why) return;
          try {
            await api.post(`/api/bodyworn/approvals/${a.id}/decision`, { grant, reason: why });
            await loadApprovals();
          } catch (e) { document.getElementById("approval-error").textContent = e.message; }
        });
        td.append(b);
      }
    }
    tr.append(td);
    return tr;
  }));
}

document.getElementById("upload")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const bar = document.getElementById("upload-progress");
  const log = document.getElementById("upload-log");
  const extra = {};
  for (const name of ["officer_badge", "device_serial"]) {
    const v = form.elements[name].value.trim();
    if (v) extra[name] = v;
  }
  bar.hidden = false;
  for (const file of form.elements.files.files) {
    const line = el("li", {}, `${file.name}: ${t("starting")}`);
    log.prepend(line);
    try {
      const up = await uploads.send(file, extra, (sent, total) => {
        bar.value = sent / total;
        line.textContent = `${file.name}: ${t("{percent} % of {mb} MB", { percent: (100 * sent / total).toFixed(1), mb: (total / 1e6).toFixed(1) })}`;
      });
      line.textContent = `${file.name}: ${label("ingest_result", up.status)}${up.file_id ? " " + t("file {id}", { id: up.file_id }) : ""} ${up.message}`;
      line.className = up.status === "rejected" ? "error" : "";
    } catch (e) { line.textContent = `${file.name}: ${e.message} ${t("(choose the file again to resume)")}`; line.className = "error"; }
  }
  find();
});

search.addEventListener("submit", find);
find();
loadApprovals();
