"use strict";

const body = document.querySelector("#cases tbody");

async function refresh() {
  const cases = await api.get("/api/cases");
  body.replaceChildren(...cases.map((c) => {
    const tr = el("tr", { "data-case": c.number });
    const link = el("a", { href: `/cases/${c.id}` }, c.number);
    const td = el("td");
    td.append(link);
    tr.append(td);
    for (const v of [c.title, label("case_status", c.status), c.owner, localTime(c.created_at)]) tr.append(el("td", {}, v));
    return tr;
  }));
}

document.getElementById("new-case").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const error = document.getElementById("case-error");
  error.textContent = "";
  try {
    const c = await api.post("/api/cases", {
      number: form.elements.number.value, title: form.elements.title.value,
    });
    location.href = `/cases/${c.id}`;
  } catch (e) { error.textContent = e.message; }
});

refresh();
