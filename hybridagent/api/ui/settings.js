// Routing preferences and the privacy level for new chat sessions, kept in this
// browser's localStorage and sent as `routing` when a session is opened; and the
// worker's Ollama models, with a pull and its progress (GET /v1/ollama/pulls/{model}).
import { json } from "./api.js";
import { h, say } from "./dom.js";

const POLL_MS = 500;

const STORE = "hybridagent.settings";
const FIELDS = {
  latency_preference: {
    label: "Routing priority",
    help: "Speed keeps more prompts on fast local models; quality sends harder prompts to strong cloud models sooner; cost keeps the most prompts local and sends the rest to the cheapest cloud model that can take them.",
    options: [["balanced", "Balanced"], ["speed", "Speed"], ["quality", "Quality"], ["cost", "Cost"]],
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
  if (saved.complexity_threshold) routing.complexity_threshold = Number(saved.complexity_threshold);
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
  const threshold = h("div", { class: "field" },
    h("label", { for: "set-complexity_threshold" }, "Complexity threshold (optional)"),
    h("input", { id: "set-complexity_threshold", name: "complexity_threshold", type: "number",
      min: "0", max: "1", step: "0.05", inputmode: "decimal",
      value: saved.complexity_threshold ?? "", "aria-describedby": "set-threshold-help" }),
    h("p", { id: "set-threshold-help", class: "help" },
      "From 0 to 1: prompts scored at least this complex may go to a cloud model. Empty: the server's setting (0.5 unless configured)."));
  const form = h("form", { class: "stack narrow" }, ...controls, budget, threshold,
    h("button", { type: "submit" }, "Save"), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    localStorage.setItem(STORE, JSON.stringify(values));
    say(status, "Saved. New chats use these settings.");
  });
  const ollama = ollamaModels();
  section.append(
    h("h1", { id: "settings-title", tabindex: "-1" }, "Settings"),
    h("p", {}, "These apply to chats you start from now on, in this browser."),
    form, ollama.element);
  return { shown: ollama.refresh };
}

function percent(pull) {
  return pull.total ? Math.min(100, Math.floor((100 * (pull.completed ?? 0)) / pull.total)) : null;
}

function progressText(pull) {
  if (pull.state === "succeeded") return `Pulled ${pull.model}.`;
  if (pull.state === "failed") return `The pull of ${pull.model} failed: ${pull.error}`;
  const share = percent(pull);
  const status = pull.digest ? pull.status.replace(pull.digest, pull.digest.slice(7, 19)) : pull.status;
  const again = pull.attempt > 1 ? ` (attempt ${pull.attempt})` : "";
  return `Pulling ${pull.model}: ${status}${share === null ? "" : `, ${share}%`}${again}.`;
}

/** The worker's Ollama models and a pull box; the progress region is polite aria-live. */
function ollamaModels() {
  const list = h("ul", { id: "ollama-models", class: "models", "aria-labelledby": "ollama-title" });
  const listStatus = h("p", { id: "ollama-status", class: "status", role: "status" });
  const input = h("input", { id: "pull-model", name: "model", required: true, autocomplete: "off",
    spellcheck: "false", placeholder: "llama3.2:3b", "aria-describedby": "pull-help" });
  const button = h("button", { type: "submit" }, "Pull");
  const bar = h("progress", { id: "pull-bar", max: "100", hidden: true, "aria-label": "Pull progress" });
  const progress = h("p", { id: "pull-progress", class: "status", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "stack narrow", "aria-labelledby": "pull-title" },
    h("h3", { id: "pull-title" }, "Pull a model"),
    h("div", { class: "field" },
      h("label", { for: "pull-model" }, "Ollama model"),
      input,
      h("p", { id: "pull-help", class: "help" },
        "A name from the Ollama library, e.g. llama3.2:3b. The worker downloads it; the pull goes on if you leave this page.")),
    button, bar, progress);

  async function refresh() {
    try {
      const { data } = await json("/v1/ollama/models");
      list.replaceChildren(...data.map((m) =>
        h("li", { "data-name": m.name }, m.name, m.loaded ? h("span", { class: "meta" }, " (loaded)") : null)));
      say(listStatus, data.length ? "" : "Ollama has no models yet: pull one below.");
      listStatus.classList.remove("error");
    } catch (error) {
      list.replaceChildren();
      listStatus.classList.add("error");
      say(listStatus, error.code === "ollama_unavailable"
        ? "Ollama is not reachable from the worker, so its models cannot be listed or pulled."
        : error.message);
    }
  }

  async function follow(pull) {
    bar.hidden = false;
    button.disabled = true;
    try {
      while (pull.state === "running") {
        bar.value = percent(pull) ?? 0;
        say(progress, progressText(pull));
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        pull = await json(`/v1/ollama/pulls/${encodeURIComponent(pull.model)}`);
      }
      bar.value = pull.state === "succeeded" ? 100 : bar.value;
      progress.classList.toggle("error", pull.state === "failed");
      say(progress, progressText(pull));
      progress.dataset.state = pull.state;
      if (pull.state === "succeeded") await refresh();
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    progress.classList.remove("error");
    delete progress.dataset.state;
    try {
      await follow(await json("/v1/ollama/pull", { method: "POST", body: { model: input.value.trim() } }));
    } catch (error) {
      progress.classList.add("error");
      say(progress, error.message);
    }
  });

  const element = h("section", { class: "stack", "aria-labelledby": "ollama-title" },
    h("h2", { id: "ollama-title" }, "Ollama models"), listStatus, list, form);
  return { element, refresh };
}
