// Draws the dashboard's charts from the API's own JSON with the locally served plotly.js.
"use strict";

const LAYOUT = {
  margin: { l: 60, r: 20, t: 10, b: 40 },
  hovermode: "x unified",
  legend: { orientation: "h", y: -0.15 },
  yaxis: { title: { text: "USD" } },
};
const CONFIG = { responsive: true, displaylogo: false };

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return response.json();
}

// The bands drawn, widest first, and their shading.
const LEVELS = [80, 50];
const BAND_FILL = { 80: "rgba(37, 99, 235, 0.14)", 50: "rgba(37, 99, 235, 0.30)" };

// A band as two traces: its upper edge, then its lower edge filled up to it.
function bandTraces(series, level) {
  const name = `${level}% band`;
  return [
    {
      x: series.date, y: series.prediction_high, name, mode: "lines", legendgroup: name,
      line: { width: 0 }, hoverinfo: "skip", showlegend: false,
    },
    {
      x: series.date, y: series.prediction_low, name, mode: "lines", legendgroup: name,
      line: { width: 0 }, fill: "tonexty", fillcolor: BAND_FILL[level],
    },
  ];
}

// `series` by level, each from the range route. Up to `last_bar` the points are the hindcast
// (what the model said before each bar, beside the close), after it the forecast.
function drawForecast(element, series) {
  const points = series[LEVELS[0]];
  const lastBar = Date.parse(points.last_bar);
  const split = points.date.findIndex((date) => Date.parse(date) > lastBar);
  const cut = split < 0 ? points.date.length : split;
  const traces = [
    ...LEVELS.flatMap((level) => bandTraces(series[level], level)),
    {
      x: points.date.slice(0, cut), y: points.prediction.slice(0, cut),
      name: "hindcast (said before each bar)", mode: "lines",
      line: { color: "#2563eb", width: 1.2, dash: "dot" },
    },
    {
      x: points.date.slice(cut), y: points.prediction.slice(cut), name: "forecast",
      mode: "lines", line: { color: "#2563eb", width: 1.8 },
    },
    {
      x: points.date.slice(0, cut), y: points.actual.slice(0, cut), name: "actual close",
      mode: "lines", line: { color: "#111827", width: 1.2 }, connectgaps: false,
    },
  ];
  return Plotly.react(element, traces, LAYOUT, CONFIG);
}

function drawCandles(element, candles) {
  const traces = [
    {
      type: "candlestick", x: candles.date, open: candles.open, high: candles.high,
      low: candles.low, close: candles.close, name: candles.symbol,
      increasing: { line: { color: "#15803d" } }, decreasing: { line: { color: "#b91c1c" } },
    },
    {
      x: candles.date, y: candles.vwap, name: "VWAP", mode: "lines",
      line: { color: "#2563eb", width: 1 },
    },
  ];
  const layout = { ...LAYOUT, hovermode: "x", xaxis: { rangeslider: { visible: false } } };
  return Plotly.react(element, traces, layout, CONFIG);
}

function drawBacktest(element, backtest) {
  const traces = [];
  const actual = new Map();
  backtest.paths.forEach((path, index) => {
    const dates = path.ds.map((seconds) => new Date(seconds * 1000).toISOString());
    traces.push({
      x: dates, y: path.yhat, mode: "lines", name: "past forecasts",
      legendgroup: "forecasts", showlegend: index === 0,
      line: { color: "rgba(37, 99, 235, 0.55)", width: 1 },
    });
    dates.forEach((date, i) => {
      if (path.actual[i] !== null) {
        actual.set(date, path.actual[i]);
      }
    });
  });
  const dates = [...actual.keys()].sort();
  traces.push({
    x: dates, y: dates.map((date) => actual.get(date)), mode: "lines", name: "actual close",
    line: { color: "#111827", width: 1.2 },
  });
  return Plotly.newPlot(element, traces, LAYOUT, CONFIG);
}

// Candle widths offered, where they are whole multiples of the asset's stored interval.
const CANDLE_INTERVALS = ["1h", "4h", "1d", "1w"];
const PREFERRED_CANDLES = "1d";
const UNIT_SECONDS = { m: 60, h: 3600, d: 86400, w: 604800 };
const CHART_DAYS = 90;
// Days of forecast drawn after the last bar: with the 90 days before it, the hourly points
// stay within one range request.
const AHEAD_DAYS = 180;

function seconds(interval) {
  return Number(interval.slice(0, -1)) * UNIT_SECONDS[interval.slice(-1)];
}

function showCard(asset) {
  document.getElementById("symbol").textContent = asset.symbol;
  document.getElementById("model-version").textContent = asset.model_version;
  document.getElementById("created-at").textContent = asset.created_at;
  const range = document.getElementById("data-range");
  range.textContent = `${asset.first_bar} to ${asset.last_bar}, ${asset.interval} bars from `;
  const source = document.createElement("b");
  source.textContent = asset.source;
  range.append(source);
  document.getElementById("forecast-end").textContent = asset.grid_end;
  document.getElementById("band").textContent = "50% and 80% bands";
}

function offerIntervals(select, asset) {
  const stored = seconds(asset.interval);
  const offered = CANDLE_INTERVALS.filter((interval) => seconds(interval) % stored === 0);
  select.replaceChildren(...offered.map((interval) => new Option(interval, interval)));
  select.value = offered.includes(PREFERRED_CANDLES) ? PREFERRED_CANDLES : offered[0];
}

async function showCandles(asset, interval) {
  const chart = document.getElementById("candles-chart");
  const url = `${asset.links.candles}?interval=${encodeURIComponent(interval)}`;
  await drawCandles(chart, await getJson(url));
  chart.dataset.asset = asset.asset;
  chart.dataset.interval = interval;
}

async function showAsset(asset) {
  showCard(asset);
  const chart = document.getElementById("forecast-chart");
  const lastBar = Date.parse(asset.last_bar);
  const start = new Date(Math.max(Date.parse(asset.valid_from), lastBar - CHART_DAYS * 86400000));
  const end = new Date(Math.min(Date.parse(asset.valid_until), lastBar + AHEAD_DAYS * 86400000));
  const range = `start=${start.toISOString()}&end=${end.toISOString()}`;
  const answers = await Promise.all(
    LEVELS.map((level) => getJson(`${asset.links.range}?${range}&level=${level}`)),
  );
  await drawForecast(chart, Object.fromEntries(LEVELS.map((level, i) => [level, answers[i]])));
  chart.dataset.asset = asset.asset;
  const intervals = document.getElementById("candle-interval");
  offerIntervals(intervals, asset);
  await showCandles(asset, intervals.value);
}

function reportFailure(error) {
  document.getElementById("status").textContent = `Could not draw the charts: ${error.message}`;
  console.error(error);
}

async function main() {
  const select = document.getElementById("asset-select");
  const backtestChart = document.getElementById("backtest-chart");
  const [catalog, backtest] = await Promise.all([
    getJson(select.dataset.url),
    getJson(backtestChart.dataset.url),
  ]);
  const assets = new Map(catalog.assets.map((asset) => [asset.asset, asset]));
  const wanted = window.location.hash.slice(1);
  select.replaceChildren(...catalog.assets.map((asset) => new Option(asset.symbol, asset.asset)));
  select.value = assets.has(wanted) ? wanted : catalog.default;
  select.addEventListener("change", () => {
    window.history.replaceState(null, "", `#${select.value}`);
    document.getElementById("status").textContent = "";
    showAsset(assets.get(select.value)).catch(reportFailure);
  });
  document.getElementById("candle-interval").addEventListener("change", (event) => {
    showCandles(assets.get(select.value), event.target.value).catch(reportFailure);
  });
  await showAsset(assets.get(select.value));
  await drawBacktest(backtestChart, backtest);
}

main().catch(reportFailure);
