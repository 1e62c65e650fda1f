// The court copy of the interview shown on the audit page: ask for it with a reason, follow
// the render, then offer the package (the derived copy, the originals, the signed manifest).
"use strict";

document.getElementById("court-copy").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const id = document.getElementById("report").dataset.interview;
  const state = document.getElementById("court-copy-state");
  const link = document.getElementById("court-copy-download");
  link.hidden = true;
  try {
    let job = await api.post(`/api/interviews/${id}/court-copy`, { reason: form.reason.value });
    while (job.state === "queued" || job.state === "rendering") {
      state.textContent = t("rendering the court copy… {p} %", { p: Math.round(job.progress * 100) });
      await new Promise((r) => setTimeout(r, 1000));
      job = await api.get(`/api/court-copies/${job.id}`);
    }
    if (job.state !== "done") throw new Error(job.error || job.state);
    const gaps = job.gaps ? t("{n} gap(s) shown", { n: job.gaps }) : t("no gap");
    state.textContent = t("court copy ready: {d}, {n} original segment(s), {gaps}; sha256 {sha}… (derived copy)", {
      d: duration(job.seconds), n: job.originals, sha: job.sha256.slice(0, 16), gaps });
    state.className = job.complete ? "badge ok" : "badge bad";
    link.href = job.download;
    link.hidden = false;
    refresh(); // the audit log now shows the export
  } catch (err) {
    state.textContent = t("no court copy: {why}", { why: err.message });
    state.className = "badge bad";
  }
});
