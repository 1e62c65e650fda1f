"use strict";

const body = document.querySelector("#users tbody");
const error = document.getElementById("user-error");

async function refresh() {
  const users = await api.get("/api/users");
  body.replaceChildren(...users.map((u) => {
    const tr = el("tr", { "data-user": u.username });
    for (const v of [u.username, u.full_name, label("role", u.role),
      u.camera_scope ? u.camera_scope.join(", ") : t("all"), u.language || t("browser's"),
      u.active ? t("yes") : t("no")]) {
      tr.append(el("td", {}, v));
    }
    const button = el("button", { type: "button" }, u.active ? t("Disable") : t("Enable"));
    button.addEventListener("click", async () => {
      try {
        await api.patch(`/api/users/${u.id}`, { active: !u.active });
        refresh();
      } catch (e) { error.textContent = e.message; }
    });
    const td = el("td");
    td.append(button);
    tr.append(td);
    return tr;
  }));
}

document.getElementById("add-user").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const cams = [...form.querySelectorAll("input[name=camera]:checked")].map((c) => c.value);
  error.textContent = "";
  try {
    await api.post("/api/users", {
      username: form.elements.username.value,
      full_name: form.elements.full_name.value,
      role: form.elements.role.value,
      password: form.elements.password.value,
      camera_scope: cams.length ? cams : null,
    });
    form.reset();
    refresh();
  } catch (e) { error.textContent = e.message; }
});

refresh();
