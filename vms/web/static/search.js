// Search: filters -> events with their snapshot; a result opens playback at that moment.
"use strict";

const form = document.getElementById("search");

async function options() {
  const [people, cases] = await Promise.all([api.get("/api/search/people"), api.get("/api/cases")]);
  form.elements.person.append(...people.map((p) =>
    el("option", { value: p.id }, `${p.name}${p.case_number ? " · " + p.case_number : ""} (${utc(p.entered_at)})`)));
  form.elements.case.append(...cases.map((c) => el("option", { value: c.number }, `${c.number} · ${c.title}`)));
}

async function run() {
  const q = new URLSearchParams();
  for (const c of form.querySelectorAll("input[name=camera]:checked")) q.append("camera", c.value);
  for (const t of form.elements.types.value.split(",").map((x) => x.trim()).filter(Boolean)) q.append("type", t);
  for (const k of ["zone", "person", "case"]) if (form.elements[k].value) q.set(k, form.elements[k].value);
  for (const k of ["since", "until"]) if (form.elements[k].value) q.set(k, form.elements[k].value + "Z");
  const results = await api.get(`/api/search?${q}`);
  document.getElementById("count").textContent = `${results.length} event(s)`;
  document.getElementById("results").replaceChildren(...results.map((r) => {
    const li = el("li", { class: "result", "data-event-id": r.id });
    const a = el("a", { href: r.play_url, title: "play the recording at this moment" });
    if (r.has_snapshot) a.append(el("img", { src: `/api/events/${r.id}/snapshot`, alt: r.type }));
    else a.append(el("div", { class: "no-snap" }, "no snapshot"));
    a.append(el("strong", {}, r.type.replaceAll("_", " ")),
      el("span", {}, `${r.camera_name}${r.zone ? " · " + r.zone : ""}`),
      el("time", {}, `${utc(r.start)} UTC`));
    li.append(a);
    return li;
  }));
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  document.getElementById("search-error").textContent = "";
  run().catch((e) => { document.getElementById("search-error").textContent = e.message; });
});
options().then(run).catch((e) => { document.getElementById("search-error").textContent = e.message; });
