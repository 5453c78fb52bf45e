// The dashboard's live panel: where the minutes come from, the last minute's price, its age, the
// forecast band now, and minute candles, from /price/{asset} and /candles/{asset}; refreshed
// every 30 seconds. Shown only while the selected asset has minute bars (the collector's
// database); hidden otherwise. The title names the pair; a replay (`make live`) says so in the
// title and the source line: its minutes were recorded earlier and moved to now.
//
// The pair is the selector's once dashboard.js has set it from the address (its "ready" event):
// before that the selector still holds the page's default pair, not a shared link's. An answer
// that arrives after the pair changed is dropped, and a change hides the panel at once, so no
// panel ever shows one pair's price under another's name.
"use strict";

const LIVE_REFRESH_MS = 30000;
const LIVE_CANDLE_COUNT = 120;
const LIVE_LAYOUT = {
  margin: { l: 60, r: 20, t: 10, b: 40 },
  hovermode: "x unified",
  showlegend: true,
  legend: { orientation: "h", y: -0.15 },
  xaxis: { rangeslider: { visible: false } },
};

let liveAsked = 0; // the latest refresh started; an older one's answers are dropped

function liveAsset() {
  return document.getElementById("asset-select").value;
}

// A served price with every decimal it was served with (the API's digits), the cent at least.
function money(value) {
  const places = Math.min(20, (String(value).split(".")[1] || "").length);
  return value.toLocaleString("en-US", {
    minimumFractionDigits: 2, maximumFractionDigits: Math.max(2, places),
  });
}

function ago(seconds) {
  if (seconds < 90) {
    return `${Math.max(0, Math.round(seconds))} s ago`;
  }
  if (seconds < 5400) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  return `${Math.round(seconds / 3600)} h ago`;
}

function bandText(forecast) {
  if (!forecast.available) {
    return `not covered (${forecast.detail})`;
  }
  const width = Math.round(forecast.interval_width * 100);
  return `${money(forecast.prediction_low)} to ${money(forecast.prediction_high)} ` +
    `(${width}% band; prediction ${money(forecast.prediction)}): the price is ${forecast.position}`;
}

function showSource(panel, price) {
  const replay = price.source === "replay";
  panel.classList.toggle("replay", replay);
  panel.dataset.source = price.source;
  document.getElementById("live-title").textContent = replay
    ? `${price.symbol}: replay of recorded minutes, not live data, against the forecast`
    : `${price.symbol} live: the last minute against the forecast`;
  let text = price.source_detail;
  if (replay && price.recorded_date) {
    text += `; this price was recorded at ${price.recorded_date.slice(0, 16).replace("T", " ")} UTC`;
  }
  document.getElementById("live-source").textContent = text;
}

async function liveAnswer(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  return { status: response.status, body: await response.json() };
}

// The y-axis fits the candles (their range and a tenth of it each side), so the price moves
// are seen; the forecast band now is a shaded trace with its own legend entry, cut at the
// axis when wider; the forecast is a dashed line, or, when it falls off the axis, an arrow at
// the edge saying where it is.
function liveRange(candles) {
  const low = Math.min(...candles.low);
  const high = Math.max(...candles.high);
  const pad = high > low ? (high - low) * 0.1 : high * 0.0005;
  return [low - pad, high + pad];
}

function forecastTraces(forecast, x0, x1) {
  const width = Math.round(forecast.interval_width * 100);
  const low = forecast.prediction_low;
  const high = forecast.prediction_high;
  return [
    {
      x: [x0, x1, x1, x0, x0], y: [low, low, high, high, low], mode: "lines", fill: "toself",
      fillcolor: "rgba(37, 99, 235, 0.12)", line: { width: 0 }, hoverinfo: "skip",
      name: `${width}% forecast band: ${money(low)} to ${money(high)}`,
    },
    {
      x: [x0, x1], y: [forecast.prediction, forecast.prediction], mode: "lines",
      line: { color: "#2563eb", width: 1.5, dash: "dash" },
      name: `forecast: ${money(forecast.prediction)}`,
    },
  ];
}

// An arrow at the top or bottom edge when the forecast is off the axis, else nothing.
function offAxis(forecast, range) {
  const above = forecast.prediction > range[1];
  if (!above && forecast.prediction >= range[0]) {
    return [];
  }
  return [{
    xref: "paper", x: 0.99, xanchor: "right", yref: "paper", y: above ? 1 : 0,
    yanchor: above ? "top" : "bottom", showarrow: false,
    text: `forecast ${money(forecast.prediction)} ${above ? "\u2191 above" : "\u2193 below"} the chart`,
    font: { size: 12, color: "#2563eb" }, bgcolor: "rgba(255, 255, 255, 0.85)",
  }];
}

function drawLive(price, candles) {
  const quote = price.symbol.split("/").at(-1);
  const chart = document.getElementById("live-chart");
  const range = liveRange(candles);
  const traces = [{
    type: "candlestick", x: candles.date, open: candles.open, high: candles.high,
    low: candles.low, close: candles.close, name: `price, ${candles.interval} candles`,
  }];
  let annotations = [];
  if (price.forecast.available && candles.date.length) {
    traces.unshift(...forecastTraces(price.forecast, candles.date[0], price.date));
    annotations = offAxis(price.forecast, range);
  }
  const layout = {
    ...LIVE_LAYOUT,
    yaxis: { title: { text: quote }, range, autorange: false },
    annotations,
  };
  Plotly.react(chart, traces, layout, { responsive: true, displaylogo: false });
  chart.dataset.interval = candles.interval;
  chart.dataset.last = candles.date.at(-1) || "";
}

async function refreshLive() {
  const panel = document.getElementById("live");
  const asset = liveAsset();
  const interval = document.getElementById("live-interval").value;
  const ticket = ++liveAsked;
  const superseded = () => ticket !== liveAsked || asset !== liveAsset();
  try {
    // /live says which assets have minute bars, so the page never asks for a price it would
    // get a 404 for.
    const live = await liveAnswer("/live");
    if (superseded()) {
      return;
    }
    if (!(asset in live.body.assets)) {
      panel.hidden = true;
      panel.dataset.reason = live.body.detail || `no minute bars of ${asset}`;
      return;
    }
    const price = await liveAnswer(`/price/${encodeURIComponent(asset)}`);
    if (price.status !== 200) {
      throw new Error(`/price answered ${price.status}: ${price.body.detail}`);
    }
    const seconds = { m: 60, h: 3600 }[interval.slice(-1)] * Number(interval.slice(0, -1));
    const start = new Date(Date.parse(price.body.open_time) - (LIVE_CANDLE_COUNT - 1) * seconds * 1000);
    const query = `interval=${interval}&start=${start.toISOString().replace(".000Z", "Z")}`;
    const candles = await liveAnswer(`/candles/${encodeURIComponent(asset)}?${query}`);
    if (superseded()) {
      return;
    }
    if (candles.status !== 200) {
      throw new Error(`/candles answered ${candles.status}: ${candles.body.detail}`);
    }
    panel.hidden = false;
    showSource(panel, price.body);
    document.getElementById("live-price").textContent =
      `${money(price.body.price)} (close of the ${price.body.open_time.slice(11, 16)} UTC minute, at ${price.body.date.slice(11, 16)})`;
    document.getElementById("live-age").textContent = ago(price.body.age_seconds);
    document.getElementById("live-band").textContent = bandText(price.body.forecast);
    drawLive(price.body, candles.body);
    panel.dataset.asset = asset;
    panel.dataset.date = price.body.date;
    panel.dataset.refreshes = String(Number(panel.dataset.refreshes || 0) + 1);
  } catch (error) {
    if (!superseded()) {
      document.getElementById("live-age").textContent = `minute data unavailable: ${error.message}`;
    }
  }
}

// Another pair chosen: nothing of the last one's stays on the page while the new one loads.
function switchLive() {
  const panel = document.getElementById("live");
  panel.hidden = true;
  delete panel.dataset.asset;
  delete panel.dataset.date;
  for (const id of ["live-source", "live-price", "live-age", "live-band"]) {
    document.getElementById(id).textContent = "";
  }
  return refreshLive();
}

function startLive() {
  // dashboard.js turns an address change into a selector change; the selector is all we follow.
  document.getElementById("asset-select").addEventListener("change", switchLive);
  document.getElementById("live-interval").addEventListener("change", refreshLive);
  setInterval(refreshLive, LIVE_REFRESH_MS);
  refreshLive();
}

if (document.getElementById("asset-select").dataset.ready === "true") {
  startLive();
} else {
  document.getElementById("asset-select").addEventListener("ready", startLive, { once: true });
}
