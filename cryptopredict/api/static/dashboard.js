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

function drawForecast(element, series) {
  const band = element.dataset.band;
  const traces = [
    {
      x: series.date, y: series.prediction_high, name: band, mode: "lines",
      line: { width: 0 }, hoverinfo: "skip", showlegend: false,
    },
    {
      x: series.date, y: series.prediction_low, name: band, mode: "lines",
      line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(37, 99, 235, 0.18)",
    },
    {
      x: series.date, y: series.prediction, name: "model", mode: "lines",
      line: { color: "#2563eb", width: 1.5 },
    },
    {
      x: series.date, y: series.actual, name: "actual close", mode: "lines",
      line: { color: "#111827", width: 1.2 }, connectgaps: false,
    },
  ];
  return Plotly.newPlot(element, traces, LAYOUT, CONFIG);
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

async function main() {
  const forecastChart = document.getElementById("forecast-chart");
  const backtestChart = document.getElementById("backtest-chart");
  const [series, backtest] = await Promise.all([
    getJson(forecastChart.dataset.url),
    getJson(backtestChart.dataset.url),
  ]);
  await drawForecast(forecastChart, series);
  await drawBacktest(backtestChart, backtest);
}

main().catch((error) => {
  document.getElementById("status").textContent = `Could not draw the charts: ${error.message}`;
  console.error(error);
});
