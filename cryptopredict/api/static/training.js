// While training still writes into the model directory (`make run` serves each pair as soon as
// its model is written), a line at the top of the dashboard says which pairs are still training
// and how far they are, from /healthz's `training`, asked again every 10 seconds; pairs that
// join meanwhile are added to the selector. The line goes once every final model is served.
"use strict";

const TRAINING_REFRESH_MS = 10000;

function minutesLeft(seconds) {
  if (seconds === null || seconds === undefined) {
    return "";
  }
  if (seconds < 90) {
    return ", about a minute left";
  }
  return `, about ${Math.round(seconds / 60)} min left`;
}

function trainingPair(pair) {
  const fits = pair.fits_total ? `, ${pair.fits_done} of ${pair.fits_total} fits` : "";
  const quick = pair.served === "quick" ? " (quick model served)" : "";
  return `${pair.asset}${quick}: ${pair.step}${fits}${minutesLeft(pair.eta_seconds)}`;
}

// Said once, after the pairs, where a pair is served its quick model meanwhile.
const QUICK_MODEL = " Meanwhile a quick model is the last close with the panel's band, not yet " +
  "backtested.";

let trainingSeen = null; // the slugs training at the last look

// The catalog afresh: pairs that joined are added to the selector, and dashboard.js updates its
// own list ("assets-updated"); the pair on show is drawn again when its final model came.
async function catalogChanged(select, finished) {
  const response = await fetch(select.dataset.url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    return;
  }
  const catalog = await response.json();
  const listed = new Set([...select.options].map((option) => option.value));
  for (const asset of catalog.assets) {
    if (!listed.has(asset.asset)) {
      select.add(new Option(asset.symbol, asset.asset));
    }
  }
  document.dispatchEvent(new CustomEvent("assets-updated", { detail: catalog.assets }));
  if (finished.includes(select.value)) {
    select.dispatchEvent(new Event("change"));
  }
}

async function refreshTraining() {
  const line = document.getElementById("training");
  const select = document.getElementById("asset-select");
  let health;
  try {
    const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
    health = await response.json();
  } catch {
    return true; // the server restarting, say: ask again later
  }
  const training = health.training;
  const now = training ? training.pairs.map((pair) => pair.asset) : [];
  const listed = new Set([...select.options].map((option) => option.value));
  const joined = health.assets.some((asset) => !listed.has(asset.asset));
  const finished = trainingSeen ? trainingSeen.filter((slug) => !now.includes(slug)) : [];
  if (joined || finished.length) {
    await catalogChanged(select, finished);
  }
  trainingSeen = now;
  line.hidden = !training;
  if (!training) {
    line.textContent = "";
    return false;
  }
  const pairs = training.pairs.map(trainingPair);
  const quick = training.pairs.some((pair) => pair.served === "quick") ? QUICK_MODEL : "";
  line.textContent = `Still training, ${pairs.length} pair${pairs.length === 1 ? "" : "s"}` +
    `${minutesLeft(training.eta_seconds)}: ${pairs.join("; ")}. Each pair's backtested model ` +
    `is served as soon as it is written.${quick}`;
  return true;
}

async function followTraining() {
  if (await refreshTraining()) {
    setTimeout(followTraining, TRAINING_REFRESH_MS);
  }
}

followTraining();
