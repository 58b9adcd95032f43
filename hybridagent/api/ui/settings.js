// Routing preferences and the privacy level for new chat sessions, kept in this
// browser's localStorage and sent as `routing` when a session is opened.
import { h, say } from "./dom.js";

const STORE = "hybridagent.settings";
const FIELDS = {
  latency_preference: {
    label: "Routing priority",
    help: "Speed keeps more prompts on fast local models; quality sends harder prompts to strong cloud models sooner.",
    options: [["balanced", "Balanced"], ["speed", "Speed"], ["quality", "Quality"]],
  },
  force_provider: {
    label: "Where models run",
    help: "Local keeps every call on the machines you control; cloud sends calls to cloud models, except those that hold private data.",
    options: [["none", "Let the router choose"], ["local", "Local only"], ["cloud", "Cloud (private data still stays local)"]],
  },
  privacy_level: {
    label: "Privacy level",
    help: "Private data always stays local. High prefers local models for everything; max keeps every call local.",
    options: [["standard", "Standard"], ["high", "High"], ["max", "Max"]],
  },
};

export function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(STORE) ?? "{}");
  } catch {
    return {};
  }
}

/** The `routing` of POST /v1/sessions: only the fields the user changed from the defaults. */
export function routingForNewSession() {
  const saved = loadSettings();
  const routing = {};
  for (const [name, field] of Object.entries(FIELDS)) {
    if (saved[name] && saved[name] !== field.options[0][0]) routing[name] = saved[name];
  }
  if (saved.token_budget) routing.token_budget = Number(saved.token_budget);
  return Object.keys(routing).length ? routing : undefined;
}

export function mountSettings(section) {
  const saved = loadSettings();
  const status = h("p", { role: "status", class: "status" });
  const controls = Object.entries(FIELDS).map(([name, field]) =>
    h("div", { class: "field" },
      h("label", { for: `set-${name}` }, field.label),
      h("select", { id: `set-${name}`, name, "aria-describedby": `set-${name}-help` },
        field.options.map(([value, text]) =>
          h("option", { value, selected: (saved[name] ?? field.options[0][0]) === value }, text))),
      h("p", { id: `set-${name}-help`, class: "help" }, field.help)));
  const budget = h("div", { class: "field" },
    h("label", { for: "set-token_budget" }, "Token budget per run (optional)"),
    h("input", { id: "set-token_budget", name: "token_budget", type: "number", min: "1",
      inputmode: "numeric", value: saved.token_budget ?? "", "aria-describedby": "set-budget-help" }),
    h("p", { id: "set-budget-help", class: "help" },
      "When a run has nearly spent this many tokens, its calls stay on local models."));
  const form = h("form", { class: "stack narrow" }, ...controls, budget,
    h("button", { type: "submit" }, "Save"), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    localStorage.setItem(STORE, JSON.stringify(values));
    say(status, "Saved. New chats use these settings.");
  });
  section.append(
    h("h1", { id: "settings-title", tabindex: "-1" }, "Settings"),
    h("p", {}, "These apply to chats you start from now on, in this browser."),
    form);
  return {};
}
