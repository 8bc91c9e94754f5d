// The page: search the store, list its files with their state, open a file's chunks.
// Plain DOM and fetch; every text from the server goes in as text, never as HTML.

import { highlightRanges, renderHighlighted } from "./highlight.js";

const TOKEN_KEY = "ingest-serve-token";
const TOKEN_COOKIE = "ingest_serve_token";
const SNIPPET_CHARS = 600;
const FILES_PAGE = 50;

const $ = (id) => document.getElementById(id);
const state = { offset: 0, total: 0 };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// --- the API, with the token when the server wants one ----------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
    if (response.status === 401) askForToken(message);
    throw new ApiError(response.status, message);
  }
  return body;
}

function askForToken(message) {
  $("token-form").hidden = false;
  $("token-message").textContent = message;
  $("token").focus();
}

function useToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  // Report pages open by link, which cannot carry a header: they read this cookie instead.
  document.cookie = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; path=/reports; SameSite=Strict`;
}

// --- tabs ---------------------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  if (name === "files") loadFiles();
}

// --- search -------------------------------------------------------------------------------------

// A window of the text around its first strong mark, with the ranges moved into it.
function snippet(text, ranges) {
  if (text.length <= SNIPPET_CHARS) return { text, ranges, cut: false };
  const first = ranges.find((range) => range[2] === "strong") || ranges[0];
  const start = first ? Math.max(0, Math.min(first[0] - 120, text.length - SNIPPET_CHARS)) : 0;
  const end = start + SNIPPET_CHARS;
  const moved = ranges
    .filter(([s, e]) => e > start && s < end)
    .map(([s, e, strength]) => [Math.max(s, start) - start, Math.min(e, end) - start, strength]);
  return { text: text.slice(start, end), ranges: moved, cut: true, before: start > 0, after: end < text.length };
}

function describeScore(hit, best) {
  if (hit.mode !== "hybrid") return hit.score.toFixed(3);
  const parts = [];
  if (hit.dense_score !== null) parts.push(`dense ${hit.dense_score.toFixed(3)}`);
  if (hit.lexical_score !== null) parts.push(`bm25 ${hit.lexical_score.toFixed(2)}`);
  const relative = best ? (hit.score / best).toFixed(3) : "0";
  return parts.length ? `${relative} (${parts.join(", ")})` : relative;
}

function renderHit(hit, query, best) {
  const item = element("li", "hit");
  const head = element("div", "hit-head");
  // The file's name first, its folder after it, muted: hits from one folder differ by name.
  const path = hit.shown_source || hit.source;
  const cut = path.lastIndexOf("/") + 1;
  const source = element("span", "source");
  source.title = path;
  source.append(element("span", "name", path.slice(cut)), element("span", "folder", path.slice(0, cut)));
  head.append(source);
  if (hit.page) head.append(element("span", "page", `page ${hit.page}`));
  if (hit.heading_path) head.append(element("span", "headings", hit.heading_path));
  head.append(element("span", "score", describeScore(hit, best)));
  item.append(head);
  const ranges = highlightRanges(hit.text, query);
  const shown = snippet(hit.text, ranges);
  const text = element("p", "text");
  renderHighlighted(text, shown.text, shown.ranges);
  if (shown.before) text.prepend("… ");
  if (shown.after) text.append(" …");
  item.append(text);
  if (shown.cut) {
    const more = element("button", "more", "Whole chunk");
    more.type = "button";
    more.addEventListener("click", () => {
      renderHighlighted(text, hit.text, ranges);
      more.remove();
    });
    item.append(more);
  }
  return item;
}

async function search(event) {
  event.preventDefault();
  const query = $("q").value.trim();
  if (!query) return;
  const body = { query, k: Number($("k").value), mode: $("mode").value };
  if ($("collection").value) body.collection = $("collection").value;
  const list = $("hits");
  $("search-status").textContent = "Searching…";
  try {
    const result = await api("/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    list.replaceChildren();
    const best = result.hits.length ? result.hits[0].score : 0;
    for (const hit of result.hits) list.append(renderHit(hit, query, best));
    const note = result.hits.length && result.hits[0].note ? ` Note: ${result.hits[0].note}` : "";
    $("search-status").textContent =
      `${result.hits.length} hits in ${result.collection} (${result.mode}, ${result.took_ms} ms).${note}`;
  } catch (error) {
    list.replaceChildren();
    $("search-status").textContent = `Search failed: ${error.message}`;
    $("search-status").classList.add("error");
    return;
  }
  $("search-status").classList.remove("error");
}

// --- files --------------------------------------------------------------------------------------

function fileQuery() {
  const params = new URLSearchParams({ limit: FILES_PAGE, offset: state.offset });
  if ($("collection").value) params.set("collection", $("collection").value);
  if ($("file-status").value) params.set("status", $("file-status").value);
  if ($("file-category").value) params.set("category", $("file-category").value);
  if ($("file-q").value.trim()) params.set("q", $("file-q").value.trim());
  return params;
}

function renderCounts(counts) {
  const line = $("file-counts");
  line.replaceChildren();
  for (const [status, count] of Object.entries(counts.status)) {
    line.append(element("span", `badge ${status}`, `${status} ${count}`));
  }
  const select = $("file-category");
  const chosen = select.value;
  select.replaceChildren(new Option("all", ""));
  for (const [category, count] of Object.entries(counts.category)) {
    line.append(element("span", "badge category", `${category} ${count}`));
    select.append(new Option(`${category} (${count})`, category));
  }
  select.value = chosen;
}

function renderFile(file) {
  const row = element("tr", `file ${file.status}`);
  const name = element("td", "path");
  if (file.doc_id) {
    const open = element("button", "link", file.shown);
    open.type = "button";
    open.title = "Show how this file was cut";
    open.addEventListener("click", () => loadChunks(file));
    name.append(open);
  } else {
    name.textContent = file.shown;
  }
  row.append(name, element("td", null, null), element("td", "number", file.doc_id ? file.chunks : ""));
  row.children[1].append(element("span", `badge ${file.status}`, file.status));
  const why = element("td", "why");
  if (file.category) {
    why.append(element("span", "badge category", file.category), " ", element("span", "message", file.message));
  }
  row.append(why);
  return row;
}

async function loadFiles(event) {
  if (event) {
    event.preventDefault();
    state.offset = 0;
  }
  $("files-status").textContent = "Loading…";
  try {
    const page = await api(`/files?${fileQuery()}`);
    state.total = page.total;
    renderCounts(page.counts);
    const body = $("files").tBodies[0];
    body.replaceChildren(...page.files.map(renderFile));
    const last = Math.min(page.offset + page.files.length, page.total);
    $("page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "no files";
    $("prev").disabled = page.offset === 0;
    $("next").disabled = last >= page.total;
    $("files-status").textContent = "";
  } catch (error) {
    $("files-status").textContent = `Cannot list files: ${error.message}`;
  }
}

async function loadChunks(file) {
  const params = new URLSearchParams();
  if ($("collection").value) params.set("collection", $("collection").value);
  const panel = $("chunks");
  try {
    const found = await api(`/files/${encodeURIComponent(file.doc_id)}/chunks?${params}`);
    $("chunks-title").textContent = `${found.shown}: ${found.chunks.length} chunks`;
    $("chunk-list").replaceChildren(
      ...found.chunks.map((chunk) => {
        const item = element("li", "chunk");
        const where = [`#${chunk.index}`];
        if (chunk.page) where.push(`page ${chunk.page}`);
        if (chunk.heading_path) where.push(chunk.heading_path);
        if (chunk.tokens) where.push(`${chunk.tokens} tokens`);
        if (chunk.ocr) where.push("OCR");
        item.append(element("div", "chunk-head", where.join(" · ")), element("p", "text", chunk.text));
        return item;
      }),
    );
    panel.hidden = false;
    panel.scrollIntoView({ block: "start" });
  } catch (error) {
    $("files-status").textContent = `Cannot show chunks: ${error.message}`;
  }
}

// --- collections and reports ------------------------------------------------------------------

async function loadCollections() {
  try {
    const found = await api("/collections");
    const select = $("collection");
    select.replaceChildren();
    for (const collection of found.collections) {
      const option = new Option(`${collection.name} (${collection.model}, ${collection.chunks} chunks)`, collection.name);
      option.disabled = !collection.searchable;
      select.append(option);
    }
    if (!found.collections.length) select.append(new Option(`${found.default} (not built yet)`, found.default));
    select.value = found.default;
    $("k").max = String(found.max_k);
  } catch (error) {
    $("search-status").textContent = `Cannot list collections: ${error.message}`;
  }
}

async function loadReports() {
  try {
    const found = await api("/reports");
    const links = $("report-links");
    links.replaceChildren(
      ...found.reports.map((report) => {
        const item = element("li");
        const link = element("a", null, report.name);
        link.href = report.url;
        link.target = "_blank";
        link.rel = "noopener";
        item.append(link);
        return item;
      }),
    );
    $("reports").hidden = found.reports.length === 0;
  } catch {
    $("reports").hidden = true;
  }
}

function start() {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => showTab(tab.id.replace("tab-", "")));
  }
  $("search-form").addEventListener("submit", search);
  $("files-form").addEventListener("submit", loadFiles);
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - FILES_PAGE);
    loadFiles();
  });
  $("next").addEventListener("click", () => {
    state.offset += FILES_PAGE;
    loadFiles();
  });
  $("chunks-close").addEventListener("click", () => { $("chunks").hidden = true; });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useToken($("token").value);
    $("token-form").hidden = true;
    loadCollections();
    loadReports();
  });
  loadCollections();
  loadReports();
}

start();
