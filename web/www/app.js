// Renders what the wasm module decides; no registry logic here.
import init, { describeManifest, inspect, listTags, manifestDigest } from "./pkg/skopeo_web.js";

const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  $("status").textContent = "";
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function link(text, onClick) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = "#";
  a.addEventListener("click", (e) => { e.preventDefault(); onClick(); });
  return a;
}

function formatSize(size) {
  return size === null || size === undefined ? "unknown" : size.toLocaleString("en-US") + " B";
}

function render(view) {
  $("result-title").textContent = view.reference;
  $("digest").textContent = view.digest;
  $("media-type").textContent = view.mediaType;
  $("created").textContent = view.created ?? "";
  $("platform").textContent = view.platform;

  const platforms = $("platforms").tBodies[0];
  clear(platforms);
  $("platforms-section").hidden = view.platforms.length === 0;
  for (const p of view.platforms) {
    const row = platforms.insertRow();
    row.insertCell().appendChild(link(p.platform, () => run(p.reference)));
    cell(row, p.digest);
    cell(row, p.mediaType);
    cell(row, formatSize(p.size), "size");
  }

  const layers = $("layers").tBodies[0];
  clear(layers);
  view.layers.forEach((l, i) => {
    const row = layers.insertRow();
    cell(row, String(i + 1));
    cell(row, l.digest, "digest");
    cell(row, formatSize(l.size), "size");
    cell(row, l.mediaType, "media-type");
  });

  const labels = $("labels").tBodies[0];
  clear(labels);
  for (const [k, v] of Object.entries(view.labels)) {
    const row = labels.insertRow();
    cell(row, k);
    cell(row, v);
  }

  const env = $("env");
  clear(env);
  for (const e of view.env) {
    const li = document.createElement("li");
    li.textContent = e;
    env.appendChild(li);
  }

  const tags = $("tags");
  clear(tags);
  if (view.tags === null) {
    tags.textContent = "The registry does not allow listing tags.";
  } else {
    const repo = view.reference.replace(/[:@][^/]*$/, "");
    for (const t of view.tags) {
      const li = document.createElement("li");
      li.appendChild(link(t, () => run(`${repo}:${t}`)));
      tags.appendChild(li);
    }
  }

  $("inspect-json").textContent = view.inspect;
  $("config-json").textContent = view.config;
  $("manifest-json").textContent = view.rawManifest;
  $("result").hidden = false;
}

async function run(reference) {
  const registry = $("registry").value;
  const host = registry.replace(/^[a-z]+:\/\//, "").replace(/\/$/, "");
  const name = reference.startsWith(host + "/") ? reference.slice(host.length + 1) : reference;
  $("image").value = name;
  $("error").hidden = true;
  $("status").textContent = "Reading " + name + "…";
  try {
    const view = JSON.parse(await inspect(registry, name));
    render(view);
    $("status").textContent = "Done.";
  } catch (e) {
    $("result").hidden = true;
    showError(String(e.message ?? e));
  }
}

function showDigest(bytes) {
  try {
    const info = JSON.parse(describeManifest(bytes));
    $("manifest-digest").textContent = info.digest;
    $("manifest-type").textContent = info.mediaType || "not recognised";
    $("manifest-problem").textContent = info.problem ?? "";
    $("manifest-problem").hidden = info.problem === null;
  } catch (e) {
    $("manifest-digest").textContent = "";
    $("manifest-problem").textContent = String(e.message ?? e);
    $("manifest-problem").hidden = false;
  }
}

await init();
// Signature checks live in a second module, fetched the first time one is asked for.
let trust = null;
async function verifySignature(...args) {
  trust ??= import("./pkg-trust/skopeo_web.js").then(async (m) => { await m.default(); return m; });
  return (await trust).verifySignature(...args);
}
window.skopeo = { describeManifest, inspect, listTags, manifestDigest, verifySignature };
$("inspect-form").addEventListener("submit", (e) => { e.preventDefault(); run($("image").value); });
$("manifest-input").addEventListener("input", (e) => showDigest(new TextEncoder().encode(e.target.value)));
const box = $("digest-box");
box.addEventListener("dragover", (e) => e.preventDefault());
box.addEventListener("drop", async (e) => {
  e.preventDefault();
  const file = e.dataTransfer.files[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  $("manifest-input").value = new TextDecoder().decode(bytes);
  showDigest(bytes);
});
document.body.dataset.ready = "true";
