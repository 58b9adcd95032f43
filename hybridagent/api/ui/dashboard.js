// Status from /readyz. Usage figures come from the usage ledger's API, which this
// page will read once it exists; until then it says so instead of showing numbers.
import { h } from "./dom.js";

export function mountDashboard(section) {
  const status = h("div", { id: "status", role: "status", "aria-live": "polite" }, "Checking…");
  const refresh = h("button", { type: "button", onclick: () => check() }, "Check again");
  section.append(
    h("h1", { id: "dashboard-title", tabindex: "-1" }, "Dashboard"),
    h("h2", {}, "Status"), status, refresh,
    h("h2", {}, "Usage"),
    h("p", { id: "usage-note" },
      "Requests, local and cloud split, cost and savings appear here once the usage " +
      "ledger is available on this server. Until then, each reply's badge in Chat " +
      "shows where it ran and why."));

  async function check() {
    status.textContent = "Checking…";
    try {
      const response = await fetch("/readyz");
      const body = await response.json();
      status.replaceChildren(response.ok
        ? h("p", { class: "ok" }, `Ready: Temporal answers and ${body.pollers} worker poller(s) serve the task queue.`)
        : h("p", { class: "error" }, `Not ready: ${body.reason}`));
    } catch (err) {
      status.replaceChildren(h("p", { class: "error" }, `The API did not answer: ${err.message}`));
    }
  }
  return { shown: check };
}
