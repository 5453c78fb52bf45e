// The dashboard's live scorecard panel: "since this model was released", how often the served
// band held the live minutes, per lead bucket, against the level it should hold and against
// the backtest at the bucket's horizon, with the minutes each point rests on
// (/model/{asset}/live). Self-contained: its own section, refreshed every minute, shown only
// while the selected asset has scored minutes. It follows the asset selector as live.js does
// (dashboard.js's "ready" event, then "change"), and drops an answer for a pair no longer
// selected.
"use strict";

const SCORECARD_REFRESH_MS = 60000;
const SCORECARD_LEADS = {
  under_1h: "under 1 h", "1h_to_1d": "1 h to 1 d", "1d_to_7d": "1 d to 7 d", beyond_7d: "beyond 7 d",
};
let scorecardAsked = 0;

function scorecardPercent(value) {
  return value === null || value === undefined ? "" : `${(value * 100).toFixed(1)}%`;
}

function scorecardTraces(leads, level) {
  const scored = leads.filter((lead) => lead.minutes > 0);
  const names = scored.map((lead) => SCORECARD_LEADS[lead.lead]);
  const observed = scored.map((lead) => lead.levels[level]);
  const expected = Number(level) / 100;
  const withBacktest = scored.filter((lead) => lead.levels[level].backtest_coverage !== null);
  return [
    {
      type: "scatter", mode: "lines", name: `expected (${level}%)`, hoverinfo: "skip",
      x: [-0.5, Object.keys(SCORECARD_LEADS).length - 0.5], y: [expected, expected],
      xaxis: "x2", line: { color: "#6b7280", width: 1.5, dash: "dash" },
    },
    {
      type: "scatter", mode: "markers", name: "backtest",
      x: withBacktest.map((lead) => SCORECARD_LEADS[lead.lead]),
      y: withBacktest.map((lead) => lead.levels[level].backtest_coverage),
      marker: { symbol: "diamond-open", size: 12, color: "#b45309", line: { width: 2 } },
      hovertemplate: "%{x}: the backtest's %{y:.1%}<extra></extra>",
    },
    {
      type: "scatter", mode: "markers+text", name: "live minutes",
      x: names, y: observed.map((found) => found.coverage),
      error_y: {
        type: "data", array: observed.map((found) => (found.coverage_se === null ? 0 : 2 * found.coverage_se)),
        color: "#2563eb", thickness: 1.5, width: 6,
      },
      text: scored.map((lead) => `${lead.minutes.toLocaleString("en-US")} min`),
      textposition: "middle right",
      marker: { size: 11, color: "#2563eb" },
      hovertemplate: "%{x}: %{y:.1%} of %{text}<extra></extra>",
    },
  ];
}

function drawScorecard(card, level) {
  const chart = document.getElementById("scorecard-chart");
  const categories = Object.values(SCORECARD_LEADS);
  const layout = {
    margin: { l: 60, r: 20, t: 10, b: 50 },
    showlegend: true,
    legend: { orientation: "h", y: -0.18 },
    xaxis: { type: "category", categoryorder: "array", categoryarray: categories, range: [-0.5, categories.length - 0.5], title: { text: "lead: time from the end of the model's data to the minute" } },
    xaxis2: { overlaying: "x", range: [-0.5, categories.length - 0.5], visible: false },
    yaxis: { title: { text: `share inside the ${level}% band` }, range: [0, 1.05], tickformat: ".0%" },
  };
  Plotly.react(chart, scorecardTraces(card.since_release, level), layout, { responsive: true, displaylogo: false });
  const scored = card.since_release.filter((lead) => lead.minutes > 0);
  chart.dataset.points = String(scored.length);
  chart.dataset.level = level;
}

function scorecardRows(card, level) {
  const body = document.querySelector("#scorecard-table tbody");
  body.replaceChildren();
  for (const lead of card.since_release) {
    const found = lead.levels[level];
    const se = found.coverage_se === null ? "" : ` ± ${scorecardPercent(found.coverage_se)}`;
    const scores = found.interval_score === null ? ""
      : `${found.interval_score.toFixed(4)} / ${found.naive_interval_score === null ? "" : found.naive_interval_score.toFixed(4)}`;
    const cells = [
      SCORECARD_LEADS[lead.lead], lead.minutes.toLocaleString("en-US"),
      lead.minutes ? `${scorecardPercent(found.coverage)}${se}` : "no minutes yet",
      scorecardPercent(found.backtest_coverage), scores, found.verdict || "",
    ];
    const row = document.createElement("tr");
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
}

async function refreshScorecard() {
  const panel = document.getElementById("scorecard");
  const asset = document.getElementById("asset-select").value;
  const level = document.getElementById("scorecard-level").value;
  const ticket = ++scorecardAsked;
  const superseded = () => ticket !== scorecardAsked || asset !== document.getElementById("asset-select").value;
  try {
    // /live says which assets have minute bars, so the page never asks for a scorecard it
    // would get a 404 for.
    const stored = await (await fetch("/live", { headers: { Accept: "application/json" } })).json();
    if (superseded()) {
      return;
    }
    if (!(asset in stored.assets)) {
      panel.hidden = true;
      panel.dataset.reason = stored.detail || `no minute bars of ${asset}`;
      return;
    }
    const response = await fetch(`/model/${encodeURIComponent(asset)}/live`, { headers: { Accept: "application/json" } });
    const card = await response.json();
    if (superseded()) {
      return;
    }
    if (response.status !== 200 || card.minutes === 0) {
      panel.hidden = true;
      panel.dataset.reason = card.detail || `no live scorecard of ${asset}`;
      return;
    }
    panel.hidden = false;
    const last = card.last.slice(0, 16).replace("T", " ");
    document.getElementById("scorecard-note").textContent =
      `${card.minutes.toLocaleString("en-US")} minutes since the model's data ended ` +
      `(${card.scored_from.slice(0, 16).replace("T", " ")} UTC) scored, to ${last} UTC` +
      (card.missing_minutes ? `; ${card.missing_minutes.toLocaleString("en-US")} missing (gaps, not scored)` : "") +
      `. Bars: two standard errors, a floor (one model's minutes share one origin).`;
    drawScorecard(card, level);
    scorecardRows(card, level);
    panel.dataset.asset = asset;
  } catch (error) {
    if (!superseded()) {
      document.getElementById("scorecard-note").textContent = `live scorecard unavailable: ${error.message}`;
    }
  }
}

function switchScorecard() {
  const panel = document.getElementById("scorecard");
  panel.hidden = true;
  delete panel.dataset.asset;
  return refreshScorecard();
}

function startScorecard() {
  document.getElementById("asset-select").addEventListener("change", switchScorecard);
  document.getElementById("scorecard-level").addEventListener("change", refreshScorecard);
  setInterval(refreshScorecard, SCORECARD_REFRESH_MS);
  refreshScorecard();
}

if (document.getElementById("asset-select").dataset.ready === "true") {
  startScorecard();
} else {
  document.getElementById("asset-select").addEventListener("ready", startScorecard, { once: true });
}
