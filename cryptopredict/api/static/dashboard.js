// Draws the dashboard's charts from the API's own JSON with the locally served plotly.js.
"use strict";

const LAYOUT = {
  margin: { l: 60, r: 20, t: 24, b: 40 },
  hovermode: "x unified",
  legend: { orientation: "h", y: -0.15 },
};
const CONFIG = { responsive: true, displaylogo: false };
const COLORS = { lastBar: "#6b7280", today: "#b45309", anchor: "#15803d", untested: "#6b7280" };

// Candle widths offered, where they are whole multiples of the asset's stored interval.
const CANDLE_INTERVALS = ["1h", "4h", "1d", "1w"];
const PREFERRED_CANDLES = "1d";
const UNIT_SECONDS = { m: 60, h: 3600, d: 86400, w: 604800 };
const HISTORY_DAYS = 90;
const FORECAST_DAYS = 365;
// Most points asked for per range request: what a chart can show, well under the API's cap
// (FORECAST_MAX_POINTS, 10,000 by default). A longer range is asked for at a coarser `step`.
const POINTS_PER_REQUEST = 2500;
// The steps tried, finest first; the first whole multiple of the asset's interval that keeps
// a range within POINTS_PER_REQUEST is asked for.
const STEPS = ["1m", "5m", "15m", "30m", "1h", "2h", "3h", "4h", "6h", "12h", "1d", "2d", "1w"];
const DAY_MS = 86400 * 1000;

class AnswerError extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail; // the API's own words, when it gave them
  }
}

// The JSON at `url`; an answer that is not 2xx throws with the API's own `detail`.
async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.ok) {
    return response.json();
  }
  let reason = response.statusText;
  let detail;
  try {
    const body = await response.json();
    reason = body.detail ? `${body.error}: ${body.detail}` : JSON.stringify(body);
    detail = body.detail;
  } catch {
    // not JSON: the status text is all there is
  }
  throw new AnswerError(`${url.split("?")[0]} answered ${response.status} (${reason})`, detail);
}

// The layout of a chart of `symbol`'s prices: the price axis in its quote ("USDT" for ETH/USDT).
function priced(layout, symbol) {
  return { ...LAYOUT, ...layout, yaxis: { title: { text: symbol.split("/").at(-1) } } };
}

// Whether `asset` is still the one chosen: an answer for a pair left meanwhile is not drawn.
function chosen(asset) {
  return document.getElementById("asset-select").value === asset.asset;
}

function seconds(interval) {
  return Number(interval.slice(0, -1)) * UNIT_SECONDS[interval.slice(-1)];
}

function iso(ms) {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

function percent(value, digits) {
  return typeof value === "number" ? `${(value * 100).toFixed(digits)}%` : "n/a";
}

// "a, b and c"
function listed(items) {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// A stretch of time in words: "5 hours", "12 days", "4 months (123 days)".
function stretch(ms) {
  const hours = Math.round(ms / 3600000);
  const days = Math.round(ms / DAY_MS);
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (hours < 48) {
    return plural(Math.max(hours, 1), "hour");
  }
  return days < 60 ? plural(days, "day") : `${plural(Math.round(days / 30.44), "month")} (${days} days)`;
}

// Vertical dotted lines across the chart at `marks` ({x, text, color}), labelled at the top:
// the first mark's label left of its line, each later one right of its line, and a mark whose
// line falls within the label before it shares that label, a line each (latest first), so no
// label can overlap another. `span` is the x axis's [start, end] in milliseconds, `width` its
// pixels; a label's width is estimated from its length.
const LABEL = { font: 11, charPx: 6.6, rowPx: 15 };
function markers(marks, span, width) {
  const sorted = [...marks].sort((a, b) => Date.parse(a.x) - Date.parse(b.x));
  const px = (x) => ((Date.parse(x) - span[0]) / (span[1] - span[0])) * width;
  const wide = (group) => Math.max(...group.map((mark) => mark.text.length)) * LABEL.charPx + 8;
  const groups = [];
  for (const mark of sorted) {
    const last = groups.at(-1);
    if (groups.length > 1 && px(mark.x) < px(last[0].x) + wide(last)) {
      last.push(mark);
    } else {
      groups.push([mark]);
    }
  }
  const said = (mark) => `<span style="color:${mark.color}">${mark.text}</span>`;
  const lines = Math.max(...groups.map((group) => group.length));
  return {
    margin: { ...LAYOUT.margin, t: LAYOUT.margin.t + LABEL.rowPx * (lines - 1) },
    shapes: sorted.map((mark) => ({
      type: "line", xref: "x", yref: "paper", x0: mark.x, x1: mark.x, y0: 0, y1: 1,
      line: { color: mark.color, width: 1.2, dash: "dot" },
    })),
    annotations: groups.map((group, index) => {
      const side = index === 0 && groups.length > 1 ? "right" : "left";
      return {
        x: group[0].x, xref: "x", y: 1, yref: "paper", yanchor: "bottom", showarrow: false,
        xanchor: side, align: side, font: { size: LABEL.font, color: group[0].color },
        text: group.length === 1 ? group[0].text : group.map(said).reverse().join("<br>"),
      };
    }),
  };
}

// A stretch without data (`gap`: [start, end], ISO), shaded, its length said in words.
function gapped(layout, gap) {
  if (!gap) {
    return layout;
  }
  const middle = new Date((Date.parse(gap[0]) + Date.parse(gap[1])) / 2).toISOString();
  const length = stretch(Date.parse(gap[1]) - Date.parse(gap[0]));
  return {
    ...layout,
    shapes: [
      {
        type: "rect", xref: "x", yref: "paper", x0: gap[0], x1: gap[1], y0: 0, y1: 1,
        fillcolor: "rgba(107, 114, 128, 0.10)", line: { width: 0 }, layer: "below",
      },
      ...layout.shapes,
    ],
    annotations: [
      ...layout.annotations,
      {
        x: middle, xref: "x", y: 0.5, yref: "paper", showarrow: false,
        text: `no data:<br>${length}`, font: { size: LABEL.font, color: COLORS.lastBar },
      },
    ],
  };
}

// The bands drawn, widest first, and their shading: grey where untested (past the longest lead
// the band was scored at).
const LEVELS = [80, 50];
const BAND_FILL = { 80: "rgba(37, 99, 235, 0.14)", 50: "rgba(37, 99, 235, 0.30)" };
const UNTESTED_FILL = { 80: "rgba(107, 114, 128, 0.14)", 50: "rgba(107, 114, 128, 0.30)" };

// A band as two traces: its upper edge, then its lower edge filled up to it.
function bandTraces(series, level, legend = true, untested = false) {
  const name = untested ? `${level}% band, untested` : `${level}% band`;
  const fillcolor = (untested ? UNTESTED_FILL : BAND_FILL)[level];
  return [
    {
      x: series.date, y: series.prediction_high, name, mode: "lines", legendgroup: name,
      line: { width: 0 }, hoverinfo: "skip", showlegend: false,
    },
    {
      x: series.date, y: series.prediction_low, name, mode: "lines", legendgroup: name,
      line: { width: 0 }, fill: "tonexty", fillcolor, showlegend: legend,
    },
  ];
}

// A forecast piece's points up to the instant `after` (ISO) and from it on, both holding it.
function cutAt(piece, after) {
  const found = piece.date.findIndex((date) => Date.parse(date) >= Date.parse(after));
  const at = found < 0 ? piece.date.length : found;
  const part = (from) => Object.fromEntries(
    Object.entries(piece).map(([name, values]) => [name, from ? values.slice(at) : values.slice(0, at + 1)]),
  );
  return [part(false), part(true)];
}

// `series` by level: its pieces, the history's (up to the data's end: the hindcast, what the
// model said before each instant, beside the price then) and the forecast's, from the price it
// starts at, tested, then untested. Across a `gap` between them ([start, end], ISO: no data from the model's last bar
// to the latest price) nothing is drawn: it is shaded and its length said.
function drawForecast(element, series, marks, symbol, view) {
  const joined = (pieces) => Object.fromEntries(
    Object.keys(pieces[0]).map((name) => [name, pieces.flatMap((piece) => piece[name])]),
  );
  const points = joined(series[LEVELS[0]]);
  const cut = series[LEVELS[0]][0].date.length;
  const traces = [
    ...LEVELS.flatMap((level) => series[level].flatMap((piece, i) => bandTraces(piece, level, i !== 1, i === 2))),
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
  const width = element.clientWidth - LAYOUT.margin.l - LAYOUT.margin.r;
  const layout = gapped(markers(marks, view.span, width), view.gap);
  return Plotly.react(element, traces, priced(layout, symbol), CONFIG);
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
  const layout = { hovermode: "x", xaxis: { rangeslider: { visible: false } } };
  return Plotly.react(element, traces, priced(layout, candles.symbol), CONFIG);
}

const NO_BACKTEST = "This model has no backtest: it was trained with --no-backtest. No past " +
  "forecasts to show, and nothing compares it with the naive forecast.";

const BACKTEST_HORIZON = "1d"; // the backtest's rows the chart draws
const BACKTEST_ROWS = 10000; // the most the route answers at once

// The backtest's latest rows (all of them, up to BACKTEST_ROWS), as objects by column.
async function getOrigins(asset) {
  const url = `${asset.links.backtest}/origins?limit=${BACKTEST_ROWS}`;
  let page = await getJson(url);
  if (page.total > BACKTEST_ROWS) {
    page = await getJson(`${url}&offset=${page.total - BACKTEST_ROWS}`);
  }
  return page.rows.map((row) => Object.fromEntries(page.columns.map((name, i) => [name, row[i]])));
}

// The 80% band made a day before each close, at the latest origins the backtest scored, and the
// close.
function drawBacktest(element, origins, symbol) {
  const rows = origins.filter((row) => row.horizon === BACKTEST_HORIZON);
  const empty = rows.length === 0;
  const wasEmpty = element.classList.contains("empty");
  element.classList.toggle("empty", empty);
  if (empty) {
    Plotly.purge(element);
    element.textContent = NO_BACKTEST;
    return Promise.resolve();
  }
  if (wasEmpty) {
    element.textContent = ""; // the message only: a drawn chart's own nodes stay for Plotly.react
  }
  const x = rows.map((row) => row.ds);
  const outside = rows.filter((row) => row.y < row["lo-80"] || row.y > row["hi-80"]);
  const traces = [
    {
      x, y: rows.map((row) => row["lo-80"]), mode: "lines", line: { width: 0 },
      hoverinfo: "skip", showlegend: false,
    },
    {
      x, y: rows.map((row) => row["hi-80"]), mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: "rgba(37, 99, 235, 0.2)", name: "80% band, made a day before",
    },
    {
      x, y: rows.map((row) => row.yhat), mode: "lines", name: "forecast, made a day before",
      line: { color: "rgba(37, 99, 235, 0.8)", width: 1 },
    },
    {
      x, y: rows.map((row) => row.y), mode: "lines", name: "actual close",
      line: { color: "#111827", width: 1.2 },
    },
    {
      x: outside.map((row) => row.ds), y: outside.map((row) => row.y), mode: "markers",
      name: `outside the band (${outside.length} of ${rows.length})`,
      marker: { color: "#b91c1c", size: 4 },
    },
  ];
  return Plotly.react(element, traces, priced({ hovermode: "x" }, symbol), CONFIG);
}

// The finest step, a whole multiple of `interval`, at which `start` to `end` (milliseconds)
// holds at most POINTS_PER_REQUEST points.
function stepFor(interval, start, end) {
  const base = seconds(interval);
  const fitting = STEPS.filter((step) => seconds(step) % base === 0).find(
    (step) => (end - start) / (seconds(step) * 1000) + 1 <= POINTS_PER_REQUEST,
  );
  return fitting || STEPS.at(-1);
}

// The forecast from `start` to `end` (milliseconds), at the finest step that fits one request.
async function getRange(asset, start, end, level) {
  const query = new URLSearchParams({
    start: iso(start), end: iso(end), step: stepFor(asset.interval, start, end), level,
  });
  return getJson(`${asset.links.range}?${query}`);
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
  const dataAge = document.getElementById("data-age");
  // In the words of the forecasts' note: its age from the last bar's close.
  dataAge.textContent = `the data is ${stretch(Date.now() - Date.parse(asset.data_until))} old`;
  // Stale: older than a day and two bars, more than a scheduled retraining would leave.
  const slack = DAY_MS + 2 * seconds(asset.interval) * 1000;
  const stale = Date.now() - Date.parse(asset.last_bar) > slack;
  dataAge.classList.toggle("stale", stale);
  document.getElementById("forecast-end").textContent = asset.grid_end;
  document.getElementById("model-link").href = asset.links.model;
  document.getElementById("band").textContent = `${listed([...LEVELS].reverse().map((level) => `${level}%`))} bands`;
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
  const candles = await getJson(url);
  if (!chosen(asset) || document.getElementById("candle-interval").value !== interval) {
    return;
  }
  await drawCandles(chart, candles);
  chart.dataset.asset = asset.asset;
  chart.dataset.interval = interval;
}

// A forecast piece from the price it starts at (`anchor`: the latest price, else the last close):
// its fan starts there, at no width, in place of the model's points before it.
function fromAnchor(piece, anchor) {
  const keep = piece.date.findIndex((date) => Date.parse(date) > Date.parse(anchor.date));
  const start = keep < 0 ? piece.date.length : keep;
  for (const name of ["prediction", "prediction_low", "prediction_high"]) {
    piece[name] = [anchor.price, ...piece[name].slice(start)];
  }
  piece.date = [anchor.date, ...piece.date.slice(start)];
  piece.actual = [null, ...piece.actual.slice(start)];
}

// 90 days of history at the asset's own interval, and a year of forecast after the data's end
// at the step that fits (4h for hourly bars), drawn as one series. Every point is an instant:
// the forecast of the price then, beside the price then (the close of the bar ending there).
async function showForecast(asset) {
  const chart = document.getElementById("forecast-chart");
  const dataEnd = Date.parse(asset.data_until);
  const from = Math.max(Date.parse(asset.valid_from), dataEnd - HISTORY_DAYS * DAY_MS);
  const after = dataEnd + seconds(asset.interval) * 1000;
  const until = Math.min(Date.parse(asset.valid_until), dataEnd + FORECAST_DAYS * DAY_MS);
  const columns = ["date", "prediction", "prediction_low", "prediction_high", "actual"];
  let anchor = null;
  let untested = null;
  const levelSeries = async (level) => {
    const pieces = await Promise.all([
      getRange(asset, from, dataEnd, level), getRange(asset, after, until, level),
    ]);
    ({ anchor, untested_after: untested } = pieces[1]);
    fromAnchor(pieces[1], anchor);
    const [history, ahead] = pieces.map((piece) => Object.fromEntries(columns.map((name) => [name, piece[name]])));
    return [history, ...cutAt(ahead, untested)];
  };
  const answers = await Promise.all(LEVELS.map(levelSeries));
  if (!chosen(asset)) {
    return;
  }
  const series = Object.fromEntries(LEVELS.map((level, i) => [level, answers[i]]));
  const marks = [
    { x: asset.data_until, text: "data end", color: COLORS.lastBar },
    { x: new Date().toISOString(), text: "today", color: COLORS.today },
  ];
  if (Date.parse(untested) < until) {
    marks.push({ x: untested, text: "band untested after", color: COLORS.untested });
  }
  const anchored = anchor.source !== "model";
  if (anchored) {
    marks.push({ x: anchor.date, text: "latest price", color: COLORS.anchor });
  }
  // The model's data to the latest price: bars that no one here has, drawn as a gap.
  const missing = anchored && Date.parse(anchor.date) - dataEnd > seconds(asset.interval) * 1000;
  const view = { span: [from, until], gap: missing ? [asset.data_until, anchor.date] : null };
  const quote = asset.symbol.split("/").at(-1);
  const said = `${money(anchor.price)} ${quote} at ${anchor.date.slice(0, 16).replace("T", " ")} UTC`;
  document.getElementById("forecast-anchor").textContent = anchored
    ? `The forecast starts from the latest price, ${said}: ${anchor.detail}.` +
      (missing ? ` No data from the model's last bar to it: ${stretch(Date.parse(anchor.date) - dataEnd)}.` : "")
    : `The forecast starts from the end of the model's data, ${said}: no newer price is known here.`;
  chart.dataset.anchor = anchor.source;
  await drawForecast(chart, series, marks, asset.symbol, view);
  chart.dataset.asset = asset.asset;
}

// The asset's own backtest: its rows at a day ahead, its scores and the sentence that sums them up.
async function showBacktest(asset) {
  const chart = document.getElementById("backtest-chart");
  const [card, origins] = await Promise.all([getJson(asset.links.model), getOrigins(asset)]);
  if (!chosen(asset)) {
    return;
  }
  document.getElementById("backtest-symbol").textContent = card.symbol;
  showScores(card);
  await drawBacktest(chart, origins, asset.symbol);
  chart.dataset.asset = asset.asset;
}

async function showAsset(asset) {
  showCard(asset);
  const intervals = document.getElementById("candle-interval");
  offerIntervals(intervals, asset);
  await Promise.all([
    showForecast(asset), showCandles(asset, intervals.value), showBacktest(asset),
  ]);
}

// Decimals that show a standard error to two significant digits (as the model card's sentence).
function decimals(se) {
  return se > 0 ? Math.max(0, 1 - Math.floor(Math.log10(se))) : 4;
}

function fixed(value, digits, sign) {
  if (typeof value !== "number") {
    return "n/a";
  }
  return `${sign && value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}

// Coverage at 50, 80 and 95% in percent, with their standard errors: "50.1 / 80.2 / 95.0%
// (SE 1.0 / 0.8 / 0.4)".
function coverages(byLevel, se) {
  const levels = ["50", "80", "95"];
  const points = (values) => levels.map((level) => fixed(values[level] * 100, 1)).join(" / ");
  if (!byLevel) {
    return "n/a";
  }
  return se ? `${points(byLevel)}% (SE ${points(se)})` : `${points(byLevel)}%`;
}

// The model card's verdict (cryptopredict/api/serving/verdict.py): per horizon the interval
// scores a verdict rests on, their difference and its standard error, the coverage of every
// band; the sentence that sums them up; what the point forecast is and what the band is.
function showScores(card) {
  const verdict = card.verdict ||
    { horizons: [], summary: "", sentence: "", point_forecast: "", band: "" };
  const rows = verdict.horizons.map((scores) => {
    const places = decimals(scores.se);
    const row = document.createElement("tr");
    const cells = [
      scores.horizon,
      `${fixed(scores.interval_score, places)} / ${fixed(scores.naive_interval_score, places)}`,
      `${fixed(scores.difference, places, true)} ± ${fixed(scores.se, places)}`,
      scores.verdict || "n/a",
      coverages(scores.coverage, scores.coverage_se),
      coverages(scores.naive_coverage, scores.naive_coverage_se),
      `${percent(scores.mape, 2)} / ${percent(scores.naive_mape, 2)}`,
    ];
    row.replaceChildren(...cells.map((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      return cell;
    }));
    // A class name is one token: "too few windows" is the class too-few-windows.
    row.classList.add((scores.verdict || "unscored").replaceAll(" ", "-"));
    return row;
  });
  const table = document.getElementById("scores");
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  document.getElementById("summary").textContent = verdict.summary;
  document.getElementById("verdict").textContent = verdict.sentence;
  document.getElementById("point-forecast").textContent = verdict.point_forecast;
  document.getElementById("band-method").textContent = verdict.band || "";
}

// The pair search: `/assets?q=` as one types (the API's own matching and order, best first);
// choosing a match switches the dashboard to it as the selector does. Keys: up and down move
// through the matches, Enter chooses (the first when none is marked), Escape closes.
const SEARCH_SHOWN = 12;
const SEARCH_DELAY_MS = 150;

// Search examples that find something among the pairs served: a base, a quote and a symbol.
function searchExamples(assets) {
  const [base, quote] = assets[0].symbol.toLowerCase().split("/");
  return listed([base, quote, assets.at(-1).symbol]).replace(" and ", ", ");
}

function setUpSearch(select, assetsUrl, assets) {
  const input = document.getElementById("asset-search");
  const list = document.getElementById("asset-matches");
  const note = document.getElementById("asset-search-note");
  const count = assets.length;
  input.placeholder = `search ${count} pair${count === 1 ? "" : "s"}: ${searchExamples(assets)}`;
  let timer = null;
  let asked = 0; // the latest search sent; an older answer arriving late is dropped
  let marked = -1;
  const options = () => [...list.querySelectorAll("li[data-asset]")];
  const say = (text, isError) => {
    note.textContent = text;
    note.classList.toggle("error", Boolean(isError));
  };
  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    marked = -1;
  };
  const mark = (index) => {
    const items = options();
    marked = items.length === 0 ? -1 : (index + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === marked)));
    if (marked >= 0) {
      input.setAttribute("aria-activedescendant", items[marked].id);
      items[marked].scrollIntoView({ block: "nearest" });
    }
  };
  const choose = (slug) => {
    input.value = "";
    close();
    say("");
    if (slug !== select.value) {
      select.value = slug;
      select.dispatchEvent(new Event("change"));
    }
  };
  const show = (found) => {
    const items = found.slice(0, SEARCH_SHOWN).map((asset) => {
      const item = document.createElement("li");
      item.id = `match-${asset.asset}`;
      item.dataset.asset = asset.asset;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      const detail = document.createElement("small");
      detail.textContent = `${asset.asset} · ${asset.interval}`;
      item.append(asset.symbol, detail);
      // mousedown, not click: it comes before the input loses focus and closes the list
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(asset.asset);
      });
      return item;
    });
    const heading = document.createElement("li");
    heading.className = "count";
    heading.textContent = `${found.length} of ${count} pairs`;
    items.unshift(heading);
    if (found.length > SEARCH_SHOWN) {
      const more = document.createElement("li");
      more.className = "more";
      more.textContent = `and ${found.length - SEARCH_SHOWN} more: type more of the name`;
      items.push(more);
    }
    list.replaceChildren(...items);
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", String(found.length > 0));
    marked = -1;
    say(found.length === 0 ? "no pair matches" : "");
  };
  const search = async () => {
    const text = input.value.trim();
    const ticket = ++asked;
    if (text === "") {
      close();
      say("");
      return;
    }
    try {
      const answer = await getJson(`${assetsUrl}?${new URLSearchParams({ q: text })}`);
      if (ticket === asked) {
        show(answer.assets);
      }
    } catch (error) {
      if (ticket === asked) {
        close();
        say(error.detail || error.message, true);
      }
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      mark(marked + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      const items = options();
      if (items.length > 0) {
        choose(items[Math.max(marked, 0)].dataset.asset);
      }
    } else if (event.key === "Escape") {
      input.value = "";
      close();
      say("");
    }
  });
  input.addEventListener("blur", () => {
    close();
    say("");
  });
}

function reportFailure(error) {
  document.getElementById("status").textContent = `Could not draw the charts: ${error.message}`;
  console.error(error);
}

async function main() {
  const select = document.getElementById("asset-select");
  const catalog = await getJson(select.dataset.url);
  if (!catalog.assets.length) {
    return; // none served yet: training.js shows the run's progress, then reloads the page
  }
  const assets = new Map(catalog.assets.map((asset) => [asset.asset, asset]));
  const wanted = window.location.hash.slice(1);
  select.replaceChildren(...catalog.assets.map((asset) => new Option(asset.symbol, asset.asset)));
  select.value = assets.has(wanted) ? wanted : catalog.default;
  setUpSearch(select, select.dataset.url, catalog.assets);
  select.addEventListener("change", () => {
    window.history.replaceState(null, "", `#${select.value}`);
    document.getElementById("status").textContent = "";
    showAsset(assets.get(select.value)).catch(reportFailure);
  });
  // An address edited to another asset's, or a link to one, switches to it, as choosing it
  // does (every panel listening to the selector follows).
  window.addEventListener("hashchange", () => {
    const slug = window.location.hash.slice(1);
    if (assets.has(slug) && slug !== select.value) {
      select.value = slug;
      select.dispatchEvent(new Event("change"));
    }
  });
  // Pairs written while training goes on (training.js): their entries, new or renewed.
  document.addEventListener("assets-updated", (event) => {
    event.detail.forEach((asset) => assets.set(asset.asset, asset));
  });
  document.getElementById("candle-interval").addEventListener("change", (event) => {
    showCandles(assets.get(select.value), event.target.value).catch(reportFailure);
  });
  // The selector now holds the address's pair: the live panel (live.js) starts from it.
  select.dataset.ready = "true";
  select.dispatchEvent(new Event("ready"));
  await showAsset(assets.get(select.value));
}

main().catch(reportFailure);
