// The agent library over /v1/agents: list, create, edit, delete, import and export
// (an agent spec as JSON, the shape agents.md describes).
import { json } from "./api.js";
import { h, say } from "./dom.js";

export function mountAgents(section) {
  const status = h("p", { class: "status", role: "status", id: "agents-status" });
  const table = h("table", { id: "agents-table" },
    h("caption", { class: "visually-hidden" }, "Agents"),
    h("thead", {}, h("tr", {}, ["Name", "Description", "Model", "Tools", "Actions"].map((c) =>
      h("th", { scope: "col" }, c)))),
    h("tbody"));
  const fields = {
    name: h("input", { id: "agent-name", name: "name", required: true,
      pattern: "[A-Za-z][A-Za-z0-9_\\-]{0,63}", autocomplete: "off",
      "aria-describedby": "agent-name-help" }),
    description: h("input", { id: "agent-description", name: "description", autocomplete: "off" }),
    instructions: h("textarea", { id: "agent-instructions", name: "instructions", rows: "6",
      required: true }),
    tools: h("input", { id: "agent-tools", name: "tools", autocomplete: "off",
      "aria-describedby": "agent-tools-help" }),
    model: h("input", { id: "agent-model", name: "model", autocomplete: "off",
      placeholder: "auto", "aria-describedby": "agent-model-help" }),
  };
  const formTitle = h("h2", { id: "agent-form-title" }, "New agent");
  const cancel = h("button", { type: "button", class: "quiet", hidden: true }, "Cancel edit");
  const form = h("form", { class: "stack narrow", "aria-labelledby": "agent-form-title" },
    h("label", { for: "agent-name" }, "Name"), fields.name,
    h("p", { id: "agent-name-help", class: "help" }, "A letter, then letters, digits, - or _."),
    h("label", { for: "agent-description" }, "Description"), fields.description,
    h("label", { for: "agent-instructions" }, "Instructions"), fields.instructions,
    h("label", { for: "agent-tools" }, "Tools"), fields.tools,
    h("p", { id: "agent-tools-help", class: "help" }, "Tool names, separated by commas."),
    h("label", { for: "agent-model" }, "Model preference"), fields.model,
    h("p", { id: "agent-model-help", class: "help" },
      "A model name such as local/smollm2 or openai/gpt-4o-mini; empty lets the router choose."),
    h("div", { class: "row" }, h("button", { type: "submit", id: "agent-save" }, "Create agent"),
      cancel));
  const importFile = h("input", { type: "file", id: "agent-import", accept: "application/json,.json" });
  const exportAll = h("button", { type: "button", id: "agent-export-all" }, "Export all (JSON)");
  let editing = null; // the name of the agent being edited, or null for a new one
  let rows = [];

  section.append(
    h("h1", { id: "agents-title", tabindex: "-1" }, "Agents"), status, table,
    h("div", { class: "row" },
      h("label", { for: "agent-import" }, "Import agents from a JSON file"), importFile, exportAll),
    formTitle, form);

  function spec() {
    const tools = fields.tools.value.split(",").map((t) => t.trim()).filter(Boolean);
    const body = { name: fields.name.value.trim(), instructions: fields.instructions.value,
      description: fields.description.value, tools };
    if (fields.model.value.trim() && fields.model.value.trim() !== "auto") {
      body.model = fields.model.value.trim();
    }
    return body;
  }

  function edit(row) {
    editing = row?.name ?? null;
    fields.name.value = row?.name ?? "";
    fields.name.readOnly = Boolean(row);
    fields.description.value = row?.description ?? "";
    fields.instructions.value = row?.instructions ?? "";
    fields.tools.value = (row?.tools ?? []).join(", ");
    fields.model.value = row?.model ?? "";
    formTitle.textContent = row ? `Edit ${row.name}` : "New agent";
    form.querySelector("#agent-save").textContent = row ? "Save changes" : "Create agent";
    cancel.hidden = !row;
    if (row) fields.description.focus();
  }
  cancel.addEventListener("click", () => edit(null));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if (editing) await json(`/v1/agents/${editing}`, { method: "PUT", body: spec() });
      else await json("/v1/agents", { method: "POST", body: spec() });
      say(status, editing ? `Saved ${editing}.` : `Created ${spec().name}.`);
      edit(null);
      await load();
    } catch (err) {
      say(status, err.message);
    }
  });

  importFile.addEventListener("change", async () => {
    const file = importFile.files?.[0];
    if (!file) return;
    const done = [];
    try {
      const parsed = JSON.parse(await file.text());
      for (const agent of Array.isArray(parsed) ? parsed : [parsed]) {
        const { builtin, ...body } = agent;
        const exists = rows.some((r) => r.name === body.name);
        await json(exists ? `/v1/agents/${body.name}` : "/v1/agents",
          { method: exists ? "PUT" : "POST", body });
        done.push(body.name);
      }
      say(status, `Imported ${done.join(", ")}.`);
    } catch (err) {
      say(status, `Import stopped${done.length ? ` after ${done.join(", ")}` : ""}: ${err.message}`);
    }
    importFile.value = "";
    await load();
  });

  exportAll.addEventListener("click", () =>
    download("agents.json", rows.filter((r) => !r.builtin).map(({ builtin, ...s }) => s)));

  async function load() {
    rows = (await json("/v1/agents")).data;
    table.tBodies[0].replaceChildren(...rows.map((row) => {
      const actions = [h("button", { type: "button", class: "quiet",
        "aria-label": `Export ${row.name}`,
        onclick: () => download(`${row.name}.json`, (({ builtin, ...s }) => s)(row)) }, "Export")];
      if (!row.builtin) {
        actions.push(
          h("button", { type: "button", class: "quiet", "aria-label": `Edit ${row.name}`,
            onclick: () => edit(row) }, "Edit"),
          h("button", { type: "button", class: "quiet danger", "aria-label": `Delete ${row.name}`,
            onclick: () => remove(row.name) }, "Delete"));
      } else actions.push(h("span", { class: "meta" }, "built-in"));
      return h("tr", { dataset: { name: row.name } },
        h("th", { scope: "row" }, row.name), h("td", {}, row.description),
        h("td", {}, row.model ?? "auto"), h("td", {}, row.tools.join(", ")),
        h("td", { class: "actions" }, actions));
    }));
  }

  async function remove(name) {
    if (!confirm(`Delete agent ${name}?`)) return;
    try {
      await json(`/v1/agents/${name}`, { method: "DELETE" });
      say(status, `Deleted ${name}.`);
      await load();
    } catch (err) {
      say(status, err.message);
    }
  }

  return { shown: () => load().catch((err) => say(status, err.message)) };
}

function download(filename, data) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)],
    { type: "application/json" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
