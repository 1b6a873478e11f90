// Bashoutter's page: talks to the haiku REST API only. The endpoint comes from config.json,
// written at deploy time, and can be edited (kept in this browser's localStorage).
"use strict";

const $ = (id) => document.getElementById(id);
const endpointInput = $("endpoint");

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
    node.querySelector(".created").textContent = item.created_at;
    node.querySelector(".created").dateTime = item.created_at;
    node.querySelector(".likes").textContent = item.likes;
    node.querySelector(".like").addEventListener("click", () => like(item.item_id, node));
    list.appendChild(node);
  }
  $("count").textContent = items.length + " haiku";
}

async function refresh() {
  try {
    render(await request("GET", "haiku"));
    say("");
  } catch (error) {
    say("Could not load the haiku: " + error.message, true);
  }
}

async function like(itemId, node) {
  try {
    const result = await request("PATCH", "haiku/" + encodeURIComponent(itemId));
    node.querySelector(".likes").textContent = result.likes;
  } catch (error) {
    say("Could not like it: " + error.message, true);
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
    say("Posted.");
    await refresh();
  } catch (error) {
    say("Could not post: " + error.message, true);
  }
}

async function init() {
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
