// While training still writes into the model directory (`make run` serves each pair as soon as
// its model is written), a line at the top of the dashboard says in plain words how many pairs
// are still training and what is shown of them meanwhile; what each pair is doing (running a
// step on a worker, or waiting for one) is in the detail below it. From /healthz's `training`,
// asked again every 10 seconds; pairs that join meanwhile are added to the selector. Before any
// pair is served (`make run`'s first minute), it is all the page shows, asked every 2 seconds,
// and the page reloads once the first pair is served. A pair the run could not train is named,
// with why, from /healthz's `failed`: while the run lasts and after it, until the next run.
"use strict";

const TRAINING_REFRESH_MS = 10000;
const FIRST_PAIR_REFRESH_MS = 2000;

function minutesLeft(seconds) {
  if (seconds === null || seconds === undefined) {
    return "";
  }
  if (seconds < 90) {
    return "about a minute left";
  }
  return `about ${Math.round(seconds / 60)} min left`;
}

function listed(items) {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// One pair in the detail: what it does (or that it waits), its time left.
function trainingPair(pair) {
  const left = minutesLeft(pair.eta_seconds);
  return `${pair.asset}: ${pair.step}${left ? `, ${left}` : ""}`;
}

// The plain sentence first: how many pairs, and how long.
function trainingSaid(training) {
  const count = training.pairs.length;
  const left = minutesLeft(training.eta_seconds);
  const said = `Still training ${count} pair${count === 1 ? "" : "s"}${left ? `, ${left}` : ""}.`;
  return `${said} Each pair's forecast is shown as soon as it is ready.`;
}

function failedSaid(failed) {
  const pairs = failed.map((pair) => `${pair.asset} (${pair.reason})`);
  return `Could not train ${listed(pairs)}. The other pairs are served; a model of ` +
    `${failed.length === 1 ? "it" : "them"} trained before, if any, still is.`;
}

let trainingSeen = null; // the slugs training at the last look

// The catalog afresh: pairs that joined are added to the selector, and dashboard.js updates its
// own list ("assets-updated"); the pair on show is drawn again when its final model came.
async function catalogChanged(select, finished) {
  const response = await fetch(select.dataset.url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    return;
  }
  const catalog = await response.json();
  const listedNow = new Set([...select.options].map((option) => option.value));
  for (const asset of catalog.assets) {
    if (!listedNow.has(asset.asset)) {
      select.add(new Option(asset.symbol, asset.asset));
    }
  }
  document.dispatchEvent(new CustomEvent("assets-updated", { detail: catalog.assets }));
  if (finished.includes(select.value)) {
    select.dispatchEvent(new Event("change"));
  }
}

function showFailed(failed) {
  const line = document.getElementById("failed");
  line.hidden = !failed.length;
  line.textContent = failed.length ? failedSaid(failed) : "";
}

function showTraining(training) {
  const box = document.getElementById("training");
  box.hidden = !training || !training.pairs.length;
  if (box.hidden) {
    return;
  }
  document.getElementById("training-said").textContent = trainingSaid(training);
  document.getElementById("training-pairs").replaceChildren(...training.pairs.map((pair) => {
    const item = document.createElement("li");
    item.textContent = trainingPair(pair);
    return item;
  }));
}

async function refreshTraining() {
  const select = document.getElementById("asset-select");
  let health;
  try {
    const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
    health = await response.json();
  } catch {
    return true; // the server restarting, say: ask again later
  }
  if (!select.options.length && health.assets.length) {
    window.location.reload(); // the first pair served: the dashboard draws it
    return false;
  }
  const training = health.training;
  const now = training ? training.pairs.map((pair) => pair.asset) : [];
  const listedNow = new Set([...select.options].map((option) => option.value));
  const joined = health.assets.some((asset) => !listedNow.has(asset.asset));
  const finished = trainingSeen ? trainingSeen.filter((slug) => !now.includes(slug)) : [];
  if (joined || finished.length) {
    await catalogChanged(select, finished);
  }
  trainingSeen = now;
  showTraining(training);
  showFailed(health.failed || []);
  return Boolean(training);
}

async function followTraining() {
  if (await refreshTraining()) {
    const served = document.getElementById("asset-select").options.length;
    setTimeout(followTraining, served ? TRAINING_REFRESH_MS : FIRST_PAIR_REFRESH_MS);
  }
}

followTraining();
