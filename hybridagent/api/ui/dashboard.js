// The dashboard: status (/readyz, then /v1/status: workers, Ollama, circuits), this
// key's calls over the last 24 hours from the usage ledger (/v1/usage) as a local/cloud
// chart with a table beside it, model and agent usage, median latency, cost, savings,
// the key's budget, and recent sessions to resume.
import { json } from "./api.js";
import { h } from "./dom.js";

const SPAN = "24h";
const SVG = "http://www.w3.org/2000/svg";

export function mountDashboard(section) {
  const status = h("div", { id: "status", role: "status", "aria-live": "polite" }, "Checking…");
  const services = h("ul", { id: "services", class: "services", "aria-label": "Services" });
  const refresh = h("button", { type: "button", class: "quiet", onclick: () => load() }, "Refresh");
  const figures = h("dl", { id: "usage-summary", class: "figures" });
  const chart = h("figure", { id: "hourly-chart", class: "chart" });
  const hourly = h("details", { class: "chart-table" },
    h("summary", {}, "The chart as a table"), h("div", { id: "hourly-table" }));
  const models = h("div", { id: "models-usage" });
  const agents = h("div", { id: "agents-usage" });
  const sessions = h("ul", { id: "recent-sessions", class: "recent", "aria-label": "Recent sessions" });
  const note = h("p", { id: "usage-note", class: "meta", role: "status" });
  let resized = null; // redraws the chart at its new width (text stays legible)

  section.append(
    h("div", { class: "row heading-row" },
      h("h1", { id: "dashboard-title", tabindex: "-1" }, "Dashboard"), refresh),
    h("h2", {}, "Status"), status, services,
    h("h2", {}, "This key, last 24 hours"), figures, note,
    h("h2", { id: "hourly-title" }, "Requests per hour, local and cloud"), chart, hourly,
    h("h2", { id: "models-title" }, "By model"), models,
    h("h2", { id: "agents-title" }, "By agent"), agents,
    h("h2", {}, "Recent sessions"), sessions);

  async function load() {
    await Promise.all([checkReady(), checkServices(), loadUsage(), loadSessions()]);
  }

  async function checkReady() {
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

  async function checkServices() {
    try {
      const body = await json("/v1/status");
      services.replaceChildren(...serviceRows(body).map(([name, ok, text]) =>
        h("li", { class: ok ? "ok" : "error", dataset: { service: name } },
          h("strong", {}, `${name}: `), text)));
    } catch (err) {
      services.replaceChildren(h("li", { class: "error" }, `Status unavailable: ${err.message}`));
    }
  }

  async function loadUsage() {
    try {
      const [byHour, byModel, byAgent] = await Promise.all(["hour", "model", "agent"].map(
        (by) => json(`/v1/usage?since=${SPAN}&by=${by}`)));
      showFigures(figures, byModel.total, byModel.budget);
      note.textContent = byModel.total.calls
        ? "Median latencies are read from the ledger's latency buckets: close, not exact."
        : "No model calls with this key in the last 24 hours yet.";
      const hours = hourSlots(byHour.from, byHour.data);
      const draw = () => chart.replaceChildren(barChart(hours, chart.clientWidth), legend(),
        h("figcaption", { class: "meta" }, "Hours in your local time; each bar is one hour."));
      draw();
      resized?.disconnect();
      let width = chart.clientWidth;
      resized = new ResizeObserver(() => {
        if (chart.clientWidth !== width) { width = chart.clientWidth; draw(); }
      });
      resized.observe(chart);
      document.getElementById("hourly-table").replaceChildren(hourTable(hours));
      models.replaceChildren(usageTable("models-table", "Model", byModel.data, "models-title"));
      agents.replaceChildren(usageTable("agents-usage-table", "Agent", byAgent.data, "agents-title"));
    } catch (err) {
      note.textContent = `Usage unavailable: ${err.message}`;
    }
  }

  async function loadSessions() {
    try {
      const found = await json("/v1/sessions?limit=5");
      sessions.replaceChildren(...found.data.map((row) => h("li", {},
        h("span", { class: "title" }, row.title || "(no messages yet)"),
        h("span", { class: "meta" }, ` ${row.agent} · ${row.messages} messages · ${row.status} `),
        h("button", { type: "button", class: "quiet", dataset: { id: row.id },
          "aria-label": `Resume ${row.title || row.id}`,
          onclick: () => { location.hash = `#/chat/${row.id}`; } }, "Resume"))));
      if (!found.data.length) sessions.append(h("li", {}, "No sessions yet."));
    } catch (err) {
      sessions.replaceChildren(h("li", { class: "error" }, err.message));
    }
  }

  return { shown: load };
}

function serviceRows(body) {
  const rows = [["Temporal", body.temporal.reachable,
    body.temporal.reachable ? "answers" : "does not answer"]];
  const w = body.workers;
  rows.push(["Workers", w.pollers > 0 && !w.problem,
    w.problem ?? `${w.pollers} poller(s); default model ${w.default_model ?? "none"}`]);
  if (body.ollama) {
    const o = body.ollama;
    rows.push(["Ollama", o.reachable, o.reachable
      ? `${o.host}: ${o.installed.length} model(s) installed, ${o.loaded.length} loaded`
      : `${o.host}: ${o.detail || "not reachable"}`]);
  } else rows.push(["Ollama", true, "not configured on this worker"]);
  if (body.embedded) rows.push(["Embedded model", body.embedded.reachable, body.embedded.summary]);
  const open = body.circuits.filter((c) => c.state !== "closed");
  rows.push(["Circuits", open.length === 0, body.circuits.length
    ? body.circuits.map((c) => `${c.provider} ${c.summary}`).join("; ")
    : "all closed"]);
  return rows;
}

export function money(usd) {
  if (!usd) return "$0.00";
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(4)}`;
}

function latency(ms) {
  if (!ms) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function showFigures(list, total, budget) {
  const spent = budget.budget_usd === null
    ? `${money(budget.spent_usd)}, no budget set`
    : `${money(budget.spent_usd)} of ${money(budget.budget_usd)}, ${money(budget.remaining_usd)} left`;
  const rows = [
    ["Calls", String(total.calls), "calls"],
    ["Local", String(total.local_calls), "local"],
    ["Cloud", String(total.cloud_calls), "cloud"],
    ["Median latency", latency(total.median_latency_ms), "latency"],
    ["Cost so far", money(total.cost_usd), "cost"],
    ["Estimated savings", money(total.savings_usd), "savings"],
    ["Budget used", spent, "budget"],
  ];
  list.replaceChildren(...rows.map(([term, value, id]) =>
    h("div", { class: "figure" }, h("dt", {}, term), h("dd", { dataset: { figure: id } }, value),
      id === "budget" && !budget.shared
        ? h("dd", { class: "meta" }, "Kept in this server's memory: a restart forgets it.") : null)));
}

/** One slot per hour from `from` to now: {key (UTC "YYYY-MM-DDTHH"), date, local, cloud}. */
function hourSlots(from, rows) {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const slots = [];
  const start = new Date(from);
  start.setUTCMinutes(0, 0, 0);
  for (let t = start.getTime(); t <= Date.now(); t += 3600_000) {
    const date = new Date(t);
    const key = date.toISOString().slice(0, 13);
    const row = byKey.get(key);
    slots.push({ key, date, local: row?.local_calls ?? 0, cloud: row?.cloud_calls ?? 0 });
  }
  return slots;
}

function hourLabel(date) {
  return `${String(date.getHours()).padStart(2, "0")}:00`;
}

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child);
  return element;
}

/** Stacked bars, local below cloud, drawn as inline SVG at the figure's width in pixels
 * (so its text is never squeezed); the table beside it says the same. */
function barChart(hours, available) {
  const width = Math.max(available || 720, 240), height = width < 500 ? 180 : 220;
  const left = 36, right = 24, bottom = 24, top = 10;
  const every = width < 500 ? 12 : 6; // hour labels
  const most = Math.max(1, ...hours.map((s) => s.local + s.cloud));
  const step = (width - left - right) / hours.length;
  const scale = (height - bottom - top) / most;
  const total = hours.reduce((n, s) => n + s.local + s.cloud, 0);
  const local = hours.reduce((n, s) => n + s.local, 0);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-labelledby": "hourly-svg-title", "aria-describedby": "hourly-svg-desc",
    width, height },
  svg("title", { id: "hourly-svg-title" }, "Requests per hour over the last 24 hours"),
  svg("desc", { id: "hourly-svg-desc" },
    `${total} calls: ${local} on local models, ${total - local} on cloud models. The table below lists each hour.`));
  for (const tick of [0, most]) {
    const y = height - bottom - tick * scale;
    chart.append(svg("line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(tick)));
  }
  hours.forEach((slot, i) => {
    const x = left + i * step + step * 0.15;
    const w = step * 0.7;
    const localH = slot.local * scale;
    const cloudH = slot.cloud * scale;
    const base = height - bottom;
    const bar = svg("g", { class: "bar" },
      svg("title", {}, `${hourLabel(slot.date)}: ${slot.local} local, ${slot.cloud} cloud`));
    if (slot.local) bar.append(svg("rect", { x, width: w, y: base - localH, height: localH, class: "local" }));
    if (slot.cloud) bar.append(svg("rect", { x, width: w, y: base - localH - cloudH, height: cloudH, class: "cloud" }));
    chart.append(bar);
    if (i % every === 0 || i === hours.length - 1) {
      chart.append(svg("text", { x: x + w / 2, y: height - 6, "text-anchor": "middle", class: "axis" },
        hourLabel(slot.date)));
    }
  });
  return chart;
}

function legend() {
  return h("p", { class: "legend", "aria-hidden": "true" },
    h("span", { class: "swatch local" }), "local ", h("span", { class: "swatch cloud" }), "cloud");
}

function hourTable(hours) {
  return h("table", { id: "hours-table" },
    h("caption", { class: "visually-hidden" }, "Requests per hour, local and cloud"),
    h("thead", {}, h("tr", {}, ...["Hour", "Local", "Cloud"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...hours.filter((s) => s.local || s.cloud).map((s) =>
      h("tr", { dataset: { hour: s.key } }, h("th", { scope: "row" }, hourLabel(s.date)),
        h("td", {}, String(s.local)), h("td", {}, String(s.cloud))))));
}

function usageTable(id, heading, rows, labelledby) {
  if (!rows.length) return h("p", { class: "meta" }, "No calls yet.");
  const columns = [heading, "Calls", "Local", "Cloud", "Tokens in", "Tokens out", "Cost", "Saved",
    "Median latency"];
  return h("div", { class: "scroll" }, h("table", { id, class: "usage", "aria-labelledby": labelledby },
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", { dataset: { key: r.key } },
      h("th", { scope: "row" }, r.key),
      ...[r.calls, r.local_calls, r.cloud_calls, r.input_tokens, r.output_tokens,
        money(r.cost_usd), money(r.savings_usd), latency(r.median_latency_ms)]
        .map((v, i) => h("td", { "data-label": columns[i + 1] }, String(v))))))));
}
