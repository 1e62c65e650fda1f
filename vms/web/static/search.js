// Search: filters -> events with their snapshot; a result opens playback at that moment.
"use strict";

const form = document.getElementById("search");
const errorBox = document.getElementById("search-error");

async function options() {
  const [people, cases] = await Promise.all([api.get("/api/search/people"), api.get("/api/cases")]);
  form.elements.person.append(...people.map((p) =>
    el("option", { value: p.id }, `${p.name}${p.case_number ? " · " + p.case_number : ""} (${localTime(p.entered_at)})`)));
  form.elements.case.append(...cases.map((c) => el("option", { value: c.number }, `${c.number} · ${c.title}`)));
}

async function run() {
  const q = new URLSearchParams();
  for (const c of form.querySelectorAll("input[name=camera]:checked")) q.append("camera", c.value);
  for (const c of form.querySelectorAll("input[name=type]:checked")) q.append("type", c.value);
  for (const k of ["zone", "person", "case"]) if (form.elements[k].value) q.set(k, form.elements[k].value);
  const since = fromLocalInput(form.elements.since.value), until = fromLocalInput(form.elements.until.value);
  if (since && until && since > until) {
    throw new Error(t("From ({since}) is after To ({until}): nothing can match.",
      { since: localTime(since), until: localTime(until) }));
  }
  if (since) q.set("since", since);
  if (until) q.set("until", until);
  const results = await api.get(`/api/search?${q}`);
  document.getElementById("count").textContent = t("{n} event(s)", { n: results.length });
  document.getElementById("results").replaceChildren(...results.map((r) => {
    const li = el("li", { class: "result", "data-event-id": r.id });
    const a = el("a", { href: r.play_url, title: t("play the recording at this moment") });
    if (r.has_snapshot) a.append(el("img", { src: `/api/events/${r.id}/snapshot`, alt: label("event_type", r.type) }));
    else a.append(el("div", { class: "no-snap" }, t("no snapshot")));
    a.append(el("strong", {}, label("event_type", r.type)),
      el("span", {}, `${r.camera_name}${r.zone ? " · " + r.zone : ""}`),
      el("time", { datetime: r.start }, when(r.start)));
    li.append(a);
    return li;
  }));
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  errorBox.textContent = "";
  run().catch((e) => { errorBox.textContent = e.message; });
});
options().then(run).catch((e) => { errorBox.textContent = e.message; });
