// Bashoutter's page: talks to the haiku REST API only. The endpoint comes from config.json,
// written at deploy time, and can be edited (kept in this browser's localStorage). Its words
// come from messages.js in the reader's language; times are shown in the reader's time zone.
"use strict";

const $ = (id) => document.getElementById(id);
const endpointInput = $("endpoint");
const locale = readerLocale();
const language = languageOf(locale);
const words = MESSAGES[language];
const JAPANESE_SCRIPT = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const timeFormat = new Intl.DateTimeFormat(locale, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

function translate(root) {
  for (const node of root.querySelectorAll("[data-text]")) node.textContent = words[node.dataset.text];
  for (const node of root.querySelectorAll("[data-placeholder]")) node.placeholder = words[node.dataset.placeholder];
  for (const node of root.querySelectorAll("[data-label]")) node.setAttribute("aria-label", words[node.dataset.label]);
}

function localTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : timeFormat.format(when);
}

function apiUrl(path) {
  return endpointInput.value.trim().replace(/\/+$/, "") + "/" + path;
}

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function request(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(apiUrl(path), options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error((data && (data.description || data.message)) || response.status + " " + response.statusText);
  }
  return data;
}

function render(items) {
  const list = $("haiku-list");
  const template = $("haiku-item");
  list.replaceChildren();
  for (const item of items) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.itemId = item.item_id;
    for (const field of ["first", "second", "third", "username"]) {
      node.querySelector("." + field).textContent = item[field];
    }
    // A poem in Japanese script is printed as haiku are, in vertical columns (whatever the
    // page's language); one in Latin script keeps three horizontal lines.
    const poem = node.querySelector(".poem");
    if (JAPANESE_SCRIPT.test(item.first + item.second + item.third)) {
      poem.classList.add("vertical");
      poem.lang = "ja";
    }
    const created = node.querySelector(".created");
    created.textContent = localTime(item.created_at);
    created.dateTime = item.created_at;
    node.querySelector(".likes").textContent = item.likes;
    node.querySelector(".like").addEventListener("click", () => like(item.item_id, node));
    list.appendChild(node);
  }
  $("count").textContent = words.count(items.length);
}

async function refresh() {
  try {
    render(await request("GET", "haiku"));
    say("");
    return true;
  } catch (error) {
    say(words.loadFailed + error.message, true);
    return false;
  }
}

async function like(itemId, node) {
  try {
    const result = await request("PATCH", "haiku/" + encodeURIComponent(itemId));
    node.querySelector(".likes").textContent = result.likes;
  } catch (error) {
    say(words.likeFailed + error.message, true);
  }
}

async function post(event) {
  event.preventDefault();
  const body = {};
  for (const field of ["first", "second", "third", "username"]) {
    body[field] = $(field).value.trim();
  }
  try {
    await request("POST", "haiku", body);
    for (const field of ["first", "second", "third"]) $(field).value = "";
    if (await refresh()) say(words.posted);
  } catch (error) {
    say(words.postFailed + error.message, true);
  }
}

async function init() {
  document.documentElement.lang = language;
  translate(document);
  translate($("haiku-item").content);
  $("username").value = words.defaultUsername;
  const saved = localStorage.getItem("bashoutter.endpoint");
  try {
    const config = await (await fetch("config.json", { cache: "no-store" })).json();
    endpointInput.value = saved || config.apiEndpoint || "";
  } catch (error) {
    endpointInput.value = saved || "";
  }
  endpointInput.addEventListener("change", () => {
    localStorage.setItem("bashoutter.endpoint", endpointInput.value.trim());
    refresh();
  });
  $("post-form").addEventListener("submit", post);
  $("refresh").addEventListener("click", refresh);
  if (endpointInput.value) await refresh();
  document.body.dataset.ready = "true";
}

init();
