"use strict";

// The nodes panel of the cameras page: GET /api/nodes (admin, supervisor).
const nodesBody = document.querySelector("#nodes tbody");
const nodesNote = document.querySelector("#nodes-note");

async function refreshNodes() {
  let view;
  try { view = await api.get("/api/nodes"); } catch (e) { return; }
  if (!view.cluster) {
    nodesNote.textContent = t("Single node (SQLite index): this node records every camera.");
    nodesBody.replaceChildren();
    return;
  }
  nodesBody.replaceChildren(...view.nodes.map((n) => {
    const tr = el("tr", { "data-node": n.id });
    const state = el("span", { class: n.state === "up" ? "badge ok" : "badge bad" },
      n.state === "up" ? t("up") : n.state === "lost" ? t("lost") : t("stopped"));
    const cells = [
      n.id, state, `${n.host} (pid ${n.pid})`,
      t("{s} s ago", { s: n.heartbeat_age_s.toFixed(1) }),
      n.cameras.length ? `${n.cameras.length}: ${n.cameras.join(", ")}` : "0",
      n.max_cameras === null ? "–" : String(n.max_cameras),
    ];
    for (const v of cells) {
      const td = el("td");
      if (v instanceof Node) td.append(v); else td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
  if (view.unassigned.length) {
    nodesNote.textContent = t("Not recorded by any live node: {cameras}",
      { cameras: view.unassigned.join(", ") });
  }
}

refreshNodes();
setInterval(refreshNodes, 5000);
