// The dashboard's track record panel: every forecast the releases issued of the selected pair,
// scored lead by lead once due, as baked into the image (/model/{asset}/track-record). First
// how the issued forecasts fared: per lead scored, the share of issues whose price the band
// held against the level it should hold, naive's band and the backtest, with two standard
// errors across issue times where enough issues are independent, and the point's error beside
// naive's; a line says how many leads are still to fall due. Self-contained: its own section,
// shown while the pair has a record. It follows the asset selector as live.js does
// (dashboard.js's "ready" event, then "change"), and drops an answer for a pair no longer
// selected.
"use strict";

let trackAsked = 0;

function trackPercent(value) {
  return value === null || value === undefined ? "" : `${(value * 100).toFixed(1)}%`;
}

function trackLead(hours) {
  return hours < 48 ? `${hours} h` : `${hours / 24} d`;
}

function trackTraces(leads, level) {
  const scored = leads.filter((lead) => lead.scored > 0);
  const found = scored.map((lead) => lead.levels[level].coverage);
  const withBacktest = leads.filter((lead) => lead.levels[level].backtest_coverage !== null);
  const hours = leads.map((lead) => lead.lead_hours);
  const expected = Number(level) / 100;
  return [
    {
      type: "scatter", mode: "lines", name: `expected (${level}%)`, hoverinfo: "skip",
      x: [Math.min(...hours), Math.max(...hours)], y: [expected, expected],
      line: { color: "#6b7280", width: 1.5, dash: "dash" },
    },
    {
      type: "scatter", mode: "markers", name: "backtest",
      x: withBacktest.map((lead) => lead.lead_hours),
      y: withBacktest.map((lead) => lead.levels[level].backtest_coverage),
      marker: { symbol: "diamond-open", size: 12, color: "#b45309", line: { width: 2 } },
      hovertemplate: "%{x} h ahead: the backtest's %{y:.1%}<extra></extra>",
    },
    {
      type: "scatter", mode: "markers", name: "issued forecasts",
      x: scored.map((lead) => lead.lead_hours), y: found.map((coverage) => coverage.mean),
      error_y: {
        type: "data", array: found.map((coverage) => (coverage.se === null ? 0 : 2 * coverage.se)),
        color: "#2563eb", thickness: 1.5, width: 5,
      },
      text: scored.map((lead) => `${lead.scored} scored`),
      marker: { size: 9, color: "#2563eb" },
      hovertemplate: "%{x} h ahead: %{y:.1%} of %{text}<extra></extra>",
    },
  ];
}

function drawTrack(record, level) {
  const chart = document.getElementById("track-chart");
  const layout = {
    margin: { l: 60, r: 20, t: 10, b: 50 },
    showlegend: true,
    legend: { orientation: "h", y: -0.2 },
    xaxis: { type: "log", title: { text: "lead: hours from the end of the model's data to the instant forecast" } },
    yaxis: { title: { text: `share the ${level}% band held` }, range: [0, 1.05], tickformat: ".0%" },
  };
  Plotly.react(chart, trackTraces(record.leads, level), layout, { responsive: true, displaylogo: false });
  chart.dataset.points = String(record.leads.filter((lead) => lead.scored > 0).length);
  chart.dataset.level = level;
}

function trackHeld(lead, found) {
  if (found.coverage.se === null) {
    const held = Math.round(found.coverage.mean * lead.scored);
    return `${trackPercent(found.coverage.mean)} (${held} of ${lead.scored}; no SE)`;
  }
  return `${trackPercent(found.coverage.mean)} ± ${trackPercent(found.coverage.se)}`;
}

function trackPair(mine, naive, digits) {
  const shown = (value) => (value === null || value === undefined ? "" : value.toFixed(digits));
  return `${shown(mine)} / ${shown(naive)}`;
}

function trackRows(record, level) {
  const body = document.querySelector("#track-table tbody");
  body.replaceChildren();
  for (const lead of record.leads.filter((found) => found.scored > 0)) {
    const found = lead.levels[level];
    // Against naive's band: a verdict, or that too few issues are independent for one.
    const verdict = found.verdict === "too few windows"
      ? "too few independent issues" : found.verdict || found.difference.why || "";
    const cells = [
      trackLead(lead.lead_hours), `${lead.scored} of ${lead.due}`, trackHeld(lead, found),
      trackPercent(found.naive_coverage), trackPercent(found.backtest_coverage),
      `${trackPercent(lead.error.mean)} / ${trackPercent(lead.naive_error)}`,
      trackPair(found.interval_score.mean, found.naive_interval_score, 4), verdict,
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

function trackNote(record) {
  const first = record.first_issue.slice(0, 16).replace("T", " ");
  const last = record.last_issue.slice(0, 16).replace("T", " ");
  const span = first === last ? `its data ended ${first} UTC` : `their data ended from ${first} to ${last} UTC`;
  const issued = record.issues === 1 ? "1 forecast issued" : `${record.issues.toLocaleString("en-US")} forecasts issued`;
  const since = `The record goes back to ${record.started.slice(0, 10)} (${record.started_why}).`;
  if (!record.scored) {
    return `${issued} (${span}). ${record.detail}. ${since}`;
  }
  const waiting = record.leads.filter((lead) => lead.scored === 0 && lead.due === 0).length;
  const gaps = record.leads.reduce((sum, lead) => sum + lead.due - lead.scored, 0);
  const later = waiting ? ` ${waiting} longer leads are not due yet.` : "";
  const missing = gaps ? ` ${gaps} due leads fell in a gap of the exchange's bars.` : "";
  return `${issued} (${span}); ${record.scored.toLocaleString("en-US")} issue-leads scored ` +
    `on the hourly closes to ${record.as_of.slice(0, 16).replace("T", " ")} UTC.${later}${missing} ` +
    `${since} Bars: two standard errors across issue times, where enough issues are independent.`;
}

async function refreshTrack() {
  const panel = document.getElementById("track-record");
  const asset = document.getElementById("asset-select").value;
  const level = document.getElementById("track-level").value;
  const ticket = ++trackAsked;
  const superseded = () => ticket !== trackAsked || asset !== document.getElementById("asset-select").value;
  try {
    const response = await fetch(`/model/${encodeURIComponent(asset)}/track-record`, { headers: { Accept: "application/json" } });
    const record = await response.json();
    if (superseded()) {
      return;
    }
    if (response.status !== 200 || record.issues === 0) {
      panel.hidden = true;
      panel.dataset.reason = record.detail || `no track record of ${asset}`;
      return;
    }
    panel.hidden = false;
    document.getElementById("track-title").textContent =
      `Track record of ${record.symbol}: how the issued forecasts fared`;
    document.getElementById("track-note").textContent = trackNote(record);
    // Nothing scored yet: the note says so; an empty chart or table would say nothing.
    document.getElementById("track-chart").hidden = record.scored === 0;
    document.getElementById("track-table").hidden = record.scored === 0;
    drawTrack(record, level);
    trackRows(record, level);
    panel.dataset.asset = asset;
  } catch (error) {
    if (!superseded()) {
      document.getElementById("track-note").textContent = `track record unavailable: ${error.message}`;
    }
  }
}

function switchTrack() {
  const panel = document.getElementById("track-record");
  panel.hidden = true;
  delete panel.dataset.asset;
  return refreshTrack();
}

function startTrack() {
  document.getElementById("asset-select").addEventListener("change", switchTrack);
  document.getElementById("track-level").addEventListener("change", refreshTrack);
  refreshTrack();
}

if (document.getElementById("asset-select").dataset.ready === "true") {
  startTrack();
} else {
  document.getElementById("asset-select").addEventListener("ready", startTrack, { once: true });
}
