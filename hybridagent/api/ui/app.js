// The web UI's shell: sign-in, the page router (#/chat, #/agents, #/settings,
// #/dashboard) and focus moved to each page's heading for screen readers.
import { auth, json } from "./api.js";
import { mountChat } from "./chat.js";
import { mountAgents } from "./agents.js";
import { mountSettings } from "./settings.js";
import { mountDashboard } from "./dashboard.js";

const pages = {
  chat: mountChat,
  agents: mountAgents,
  settings: mountSettings,
  dashboard: mountDashboard,
};
const mounted = {};

function show(id) {
  for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== id;
}

async function route() {
  const signedIn = Boolean(auth.key());
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  if (!signedIn) {
    show("signin");
    document.getElementById("api-key").focus();
    return;
  }
  const name = (location.hash.match(/^#\/(\w+)/) ?? [])[1];
  const page = pages[name] ? name : "chat";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const section = document.getElementById(`page-${page}`);
  show(section.id);
  if (!mounted[page]) mounted[page] = pages[page](section);
  await mounted[page].shown?.();
  section.querySelector("h1")?.focus();
}

document.getElementById("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("api-key");
  const error = document.getElementById("signin-error");
  error.textContent = "";
  try {
    await json("/v1/models", { key: input.value.trim() });
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  auth.set(input.value.trim());
  input.value = "";
  await route();
});

document.getElementById("sign-out").addEventListener("click", () => {
  auth.clear();
  location.reload();
});

auth.onExpired = () => {
  auth.clear();
  route();
};
window.addEventListener("hashchange", route);
route();
