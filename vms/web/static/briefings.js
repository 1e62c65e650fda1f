// Briefings: choosing a day in the list opens it.
"use strict";

document.getElementById("pick-day")?.addEventListener("change", (ev) => {
  location.href = `/briefings?day=${encodeURIComponent(ev.target.value)}`;
});
