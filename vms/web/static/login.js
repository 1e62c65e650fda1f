"use strict";

const form = document.getElementById("login");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    await api.post("/api/auth/login", { username: data.username, password: data.password });
    location.href = form.dataset.next || "/";
  } catch (e) {
    error.textContent = e.status === 401 ? t("wrong user name or password") : e.message;
  }
});
