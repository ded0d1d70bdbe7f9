// iadsim viewer: the browser page of `iadsim serve`.
//
// One page: a side panel (runs, layers, events, scenarios and jobs), a Leaflet map over an
// offline vector basemap, a time bar for playback and a floating track-history panel.
// Everything it loads comes from the server's JSON API through relative URLs (the server may
// sit behind a path prefix); nothing is fetched from anywhere else.
//
// Layout of this file:
//   1. constants (colours, symbols)     6. units, coverage, basemap
//   2. small DOM and format helpers      7. frames: truth, tracks, interceptors, engagements
//   3. status for tests, error banner    8. playback and time bar
//   4. token, URL fragment, API client   9. track history panel, events list
//   5. map and panes                    10. runs, scenarios and jobs; start-up

import "leaflet/dist/leaflet.css";
import "./viewer.css";
import * as L from "leaflet";
// Unit symbols: MIL-STD-2525C letter codes (the same codes iadsim.symbology gives the report's maps);
// milsymbol's package entry registers its icon sets (most of the bundle's 1 MB, served locally).
import ms from "milsymbol";

// ---------------------------------------------------------------------------------------------
// 1. Constants
// ---------------------------------------------------------------------------------------------

const NATION_COLOURS = { BLR: "#2f7d32", RUS: "#1f4e9c" };
const OTHER_NATION = "#6b737b";

const IDENTITY_COLOURS = {
  hostile: "#d7263d",
  unknown: "#f2c14e",
  friend: "#2e86de",
  neutral: "#3bb273",
  civil: "#3bb273",
  pending: "#8d949c",
};
const OTHER_IDENTITY = "#8d949c";

const COVERAGE_COLOURS = { detected: "#1b7f9e", engageable: "#b5367a" };
const TRUTH_COLOUR = "#23272b";
const INTERCEPTOR_COLOUR = "#5b3a8e";
const KILL_COLOUR = "#d7263d";
const MISS_COLOUR = "#8d949c";

/** Seconds of motion drawn as a track's velocity leader. */
const LEADER_S = 60;
/** Least wall-clock time between two frame requests while playing (at most ~5 per second). */
const FRAME_INTERVAL_MS = 200;
/** Debounce for frame requests while the slider is dragged. */
const SLIDER_DEBOUNCE_MS = 120;
const JOB_POLL_MS = 1000;
const EVENT_LOG_SIZE = 20;
/** Track histories longer than this are shown as identity changes plus samples. */
const HISTORY_FULL_ROWS = 150;
const HISTORY_SAMPLED_ROWS = 60;
/** A track's history draws the truth paths of at most this many of the objects it followed. */
const HISTORY_MAX_OBJECTS = 6;
/** The track history keeps at least this height (px) however tall the legend below it is. */
const TRACK_PANEL_MIN_PX = 160;

/** Belarus, for the first view before units are known (south-west, north-east). */
const BELARUS_BOUNDS = [[51.25, 23.18], [56.17, 32.78]];

const TOKEN_KEY = "iadsim.token";

/** Map panes, bottom to top; Leaflet's own marker, tooltip and popup panes sit above (600+). */
const PANES = {
  basemap: 210,
  relief: 215,
  labels: 220,
  coverage: 300,
  units: 410,
  history: 420,
  engagements: 430,
  truth: 440,
  tracks: 450,
  interceptors: 460,
  marks: 465,
};

// ---------------------------------------------------------------------------------------------
// 2. DOM and format helpers
// ---------------------------------------------------------------------------------------------

const $ = (sel, root = document) => root.querySelector(sel);

/** Creates an element: el("li", {class: "x", dataset: {a: 1}, onclick: f}, "text", child). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Makes a string safe inside a CSS class name. */
const sanitise = (text) => String(text).replace(/[^A-Za-z0-9_-]/g, "_");

const last = (list) => list[list.length - 1];

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** Seconds from scenario start as T+hh:mm:ss (T-… before the start). */
function formatT(seconds) {
  if (!isNum(seconds)) return "T+--:--:--";
  const sign = seconds < 0 ? "-" : "+";
  let s = Math.floor(Math.abs(seconds) + 1e-6);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n) => String(n).padStart(2, "0");
  return `T${sign}${pad(h)}:${pad(m)}:${pad(s)}`;
}

/** Integer with spaces between thousands: 10000 -> "10 000". */
function groupDigits(n) {
  const [int, frac] = String(Math.round(n * 1000) / 1000).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
  return frac ? `${grouped}.${frac}` : grouped;
}

const fmtFixed = (v, digits) => (isNum(v) ? v.toFixed(digits) : "–");
const fmtAlt = (m) => (isNum(m) ? `${groupDigits(Math.round(m))} m` : "–");
const fmtKmh = (mps) => (isNum(mps) ? `${Math.round(mps * 3.6)} km/h` : "–");
const humanKind = (kind) => String(kind ?? "").replace(/_/g, " ");

function formatDuration(seconds) {
  if (!isNum(seconds)) return null;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return h ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
}

const identityColour = (id) => IDENTITY_COLOURS[String(id ?? "").toLowerCase()] ?? OTHER_IDENTITY;
const nationColour = (nation) => NATION_COLOURS[nation] ?? OTHER_NATION;

/** A point moved by a velocity (m/s) for `seconds`, on a local flat earth (good for a leader). */
function advance(lat, lon, speedMps, headingDeg, seconds) {
  if (!isNum(speedMps) || !isNum(headingDeg)) return [lat, lon];
  const dist = speedMps * seconds;
  const rad = (headingDeg * Math.PI) / 180;
  const dLat = (dist * Math.cos(rad)) / 111320;
  const dLon = (dist * Math.sin(rad)) / (111320 * Math.max(0.05, Math.cos((lat * Math.PI) / 180)));
  return [lat + dLat, lon + dLon];
}

/** Initial bearing in degrees from one point to another (for interceptor heading). */
function bearing(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const y = Math.sin((lon2 - lon1) * r) * Math.cos(lat2 * r);
  const x = Math.cos(lat1 * r) * Math.sin(lat2 * r) - Math.sin(lat1 * r) * Math.cos(lat2 * r) * Math.cos((lon2 - lon1) * r);
  return ((Math.atan2(y, x) / r) + 360) % 360;
}

/** A small two-column table for tooltips and popups; rows with empty values are left out. */
function infoTable(rows) {
  return el("table", {}, rows
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
}

function infoBox(title, rows) {
  return el("div", { class: "iad-popup" }, el("h4", {}, title), infoTable(rows));
}

// ---------------------------------------------------------------------------------------------
// 3. Status for tests, error banner
// ---------------------------------------------------------------------------------------------

/** Read by the browser tests; updated in place as things change. */
const status = {
  ready: false,
  run: null,
  timeS: 0,
  frameS: null, // the time of the frame on the map (the clock may run ahead while it loads)
  playing: false,
  counts: { units: 0, truth: 0, tracks: 0, interceptors: 0, engagements: 0, coverage: 0 },
  lastError: null,
};
window.iadsimViewer = status;

/** Current error messages by source (a layer, "jobs", …): a later success clears its own. */
const errors = new Map();

function showError(key, message) {
  errors.delete(key); // re-insert so the newest comes last
  errors.set(key, message);
  status.lastError = message;
  renderErrors();
}

/**
 * Shows an API error under `key`, prefixed with what failed. A missing token (401) fails every
 * call alike, so it is shown once, on its own, rather than once per layer.
 */
function reportError(key, what, err) {
  if (err?.status === 401) showError("auth", err.message);
  else showError(key, `${what}: ${err?.message ?? err}`);
}

function clearError(key) {
  if (!errors.delete(key)) return;
  status.lastError = errors.size ? last([...errors.values()]) : null;
  renderErrors();
}

function renderErrors() {
  const box = $("#error");
  box.replaceChildren();
  if (!errors.size) {
    box.hidden = true;
    return;
  }
  const list = el("ul");
  for (const [key, message] of errors) {
    list.append(el("li", {},
      el("span", {}, message),
      el("button", { type: "button", title: "Dismiss", "aria-label": "Dismiss", onclick: () => clearError(key) }, "×")));
  }
  box.append(list);
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// 4. Token, URL fragment, API client
// ---------------------------------------------------------------------------------------------

let token = null;

/** sessionStorage can throw (storage disabled); then the token lives only in memory. */
function storeToken(value) {
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    /* memory only */
  }
}

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

const hashParams = () => new URLSearchParams(location.hash.replace(/^#/, ""));

function replaceHash(params) {
  const text = params.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (text ? `#${text}` : ""));
}

/** Takes `token` from the URL fragment into sessionStorage and out of the visible URL. */
function initToken() {
  const params = hashParams();
  const fromUrl = params.get("token");
  if (fromUrl) {
    token = fromUrl;
    storeToken(fromUrl);
    params.delete("token");
    replaceHash(params);
  } else {
    token = storedToken();
  }
}

function writeRunToHash(run) {
  const params = hashParams();
  params.delete("token");
  if (run) params.set("run", run);
  else params.delete("run");
  replaceHash(params);
}

class ApiError extends Error {
  constructor(httpStatus, message) {
    super(message);
    this.status = httpStatus;
  }
}

const isAbort = (err) => err?.name === "AbortError";

/** A readable message from an error body: `detail` is a string, or a list from validation (422). */
function detailMessage(body, res) {
  const detail = body?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      if (typeof item === "string") return item;
      const where = Array.isArray(item?.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
      return where ? `${where}: ${item?.msg ?? "invalid"}` : (item?.msg ?? JSON.stringify(item));
    }).join("; ");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return `${res.status} ${res.statusText || "error"}`.trim();
}

/** Calls the API (path relative to the page) and returns the parsed JSON; throws ApiError. */
async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, `cannot reach the server (${err.message || "network error"})`);
  }
  if (res.status === 401) {
    throw new ApiError(401, token
      ? "the server rejected this page's token: open the URL printed when it started (with its #token=…)"
      : "this server needs its token: open the URL printed when it started");
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, `${path}: the server sent something that is not JSON`);
    }
  }
  if (!res.ok) throw new ApiError(res.status, detailMessage(data, res));
  return data;
}

const enc = encodeURIComponent;
const runPath = (run, rest) => `api/runs/${enc(run)}/${rest}`;

// ---------------------------------------------------------------------------------------------
// 5. Map and panes
// ---------------------------------------------------------------------------------------------

let map;
/** Layer groups of the map, one per toggle. Picture tracks have one group per node. */
const groups = {};
const nodeGroups = new Map();

/** A command node's name from the run's scenario (the timeline's node_names), else its id. */
const nodeName = (node) => play.timeline?.node_names?.[node] ?? node;

function initMap() {
  map = L.map("map", {
    preferCanvas: false, // SVG paths: each symbol is a DOM element the tests (and CSS) can reach
    zoomSnap: 0.25,
    minZoom: 3,
    maxZoom: 13,
    attributionControl: true,
  });
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution("Borders: Natural Earth");
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  for (const [name, z] of Object.entries(PANES)) {
    map.createPane(name).style.zIndex = String(z);
  }
  // Labels and the basemap never take the pointer.
  map.getPane("labels").style.pointerEvents = "none";
  map.getPane("relief").style.pointerEvents = "none";
  map.fitBounds(BELARUS_BOUNDS);

  for (const name of ["units", "coverage", "truth", "interceptors", "engagements", "history", "marks"]) {
    groups[name] = L.layerGroup();
  }
  groups.history.addTo(map);
  groups.marks.addTo(map);
  legendControl().addTo(map);
}

/** Whether a toggleable group is currently on the map. */
const shown = (group) => map.hasLayer(group);

function updateCounts() {
  const c = status.counts;
  c.units = shown(groups.units) ? groups.units.getLayers().length : 0;
  c.coverage = shown(groups.coverage) ? coverageState.drawn : 0;
  c.truth = shown(groups.truth) ? truthLayers.size : 0;
  c.interceptors = shown(groups.interceptors) ? interceptorLayers.size : 0;
  c.engagements = shown(groups.engagements) ? engagementLayers.size : 0;
  let tracks = 0;
  for (const [node, keyed] of trackLayers) {
    if (nodeGroups.has(node) && shown(nodeGroups.get(node))) tracks += keyed.size;
  }
  c.tracks = tracks;
  for (const span of document.querySelectorAll("[data-count]")) {
    const n = c[span.dataset.count];
    span.textContent = n ? String(n) : "";
  }
}

// Inline SVG symbols ----------------------------------------------------------------------------

/** Symbol family of a unit kind. */
function unitFamily(kind) {
  const k = String(kind ?? "");
  if (k.startsWith("sam_")) return "sam";
  if (k.startsWith("radar_")) return "radar";
  if (k.startsWith("ew_")) return "ew";
  if (k.startsWith("air_")) return "air";
  if (k === "communications") return "comms";
  return "other";
}

/** Pixel size by echelon: higher echelons larger. */
function unitSize(kind) {
  const k = String(kind ?? "");
  if (/(brigade|regiment|centre|air_base)$/.test(k)) return 22;
  if (/battalion$/.test(k)) return 17;
  if (k === "communications") return 11;
  return 13; // battery, site, detachment, anything else
}

/** The unit symbol families and their APP-6 / MIL-STD-2525C codes as a friend of the legend
 * (iadsim.symbology gives every unit its own code, with its echelon, in the units layer). */
const UNIT_FAMILIES = [
  ["sam", "SFGPUCDM---G---", "air defence missile"],
  ["radar", "SFGPUUMRG--H---", "radar"],
  ["ew", "SFGPUUMSE--G---", "electronic warfare"],
  ["air", "SFGPIBA---H----", "air base"],
  ["comms", "SFGPUUS--------", "signal (comms)"],
];

/** Every frame outline in a nation's colour: nations are told apart by frame, identities by fill. */
const frameIn = (colour) => ({ Friend: colour, Hostile: colour, Neutral: colour, Unknown: colour, Civilian: colour, Suspect: colour });

/** A unit's symbol (milsymbol, from its code) as SVG markup with its size and anchor in pixels. */
function unitSymbol(sidc, nation, size) {
  const code = /^[A-Z-]{15}$/.test(String(sidc ?? "")) ? sidc : "SUGP-----------"; // unknown ground unit
  const symbol = new ms.Symbol(code, { size, frameColor: frameIn(nationColour(nation)) });
  return { svg: symbol.asSVG(), size: symbol.getSize(), anchor: symbol.getAnchor() };
}

function interceptorSvg(headingDeg) {
  // A small aircraft silhouette, nose up, rotated to the direction of motion when known.
  const rot = isNum(headingDeg) ? headingDeg : 0;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20" width="18" height="18" aria-hidden="true" style="transform:rotate(${rot}deg)">` +
    `<path d="M10 1.5c.8 0 1.2 1 1.2 2.2v3.8l6.8 4.2v1.8l-6.8-2v4l2 1.6v1.4L10 17.7l-3.2.8v-1.4l2-1.6v-4l-6.8 2v-1.8l6.8-4.2V3.7c0-1.2.4-2.2 1.2-2.2z" ` +
    `fill="${INTERCEPTOR_COLOUR}" stroke="#fff" stroke-width="1" stroke-linejoin="round"/></svg>`;
}

const KILL_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">` +
  `<path d="M3 3 13 13M13 3 3 13" stroke="#fff" stroke-width="5" stroke-linecap="round"/>` +
  `<path d="M3 3 13 13M13 3 3 13" stroke="${KILL_COLOUR}" stroke-width="2.6" stroke-linecap="round"/></svg>`;

function legendControl() {
  const control = L.control({ position: "bottomright" });
  control.onAdd = () => {
    const swatch = (svg) => {
      const span = el("span");
      span.innerHTML = svg; // static markup built in this file, no data from the server
      return span.firstChild;
    };
    const dot = (colour, hollow = false) => swatch(
      `<svg viewBox="0 0 12 12" width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="${hollow ? "none" : colour}" stroke="${hollow ? colour : "#fff"}" stroke-width="${hollow ? 1.5 : 1}"/></svg>`);
    const line = (colour, dash) => swatch(
      `<svg viewBox="0 0 22 12" width="22" height="12"><path d="M1 6h20" stroke="${colour}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ""}/></svg>`);
    const area = (colour) => swatch(
      `<svg viewBox="0 0 14 12" width="14" height="12"><rect x="1" y="1" width="12" height="10" fill="${colour}" fill-opacity="0.25" stroke="${colour}"/></svg>`);
    const item = (icon, text) => el("li", {}, icon, text);
    const box = el("details", { class: "iad-legend leaflet-control", open: true, ontoggle: fitTrackPanel },
      el("summary", {}, "Legend"),
      el("h5", {}, "Units ", el("span", { class: "lg-note" }, "APP-6 / MIL-STD-2525C")),
      el("ul", { class: "lg-units" },
        ...UNIT_FAMILIES.map(([family, sidc, label]) =>
          el("li", { dataset: { family } }, swatch(unitSymbol(sidc, "BLR", 12).svg), label))),
      el("p", { class: "lg-note" }, "Fill: identity (friend blue, hostile red, neutral green, unknown yellow). ",
        "Frame: nation (", el("b", { style: `color:${NATION_COLOURS.BLR}` }, "BLR green"), ", ",
        el("b", { style: `color:${NATION_COLOURS.RUS}` }, "RUS blue"), "). Echelon above: I battery, II battalion, III regiment, X brigade."),
      el("h5", {}, "Tracks by identity"),
      el("ul", {},
        item(dot(IDENTITY_COLOURS.hostile), "hostile"),
        item(dot(IDENTITY_COLOURS.unknown), "unknown"),
        item(dot(IDENTITY_COLOURS.friend), "friend"),
        item(dot(IDENTITY_COLOURS.neutral), "neutral/civil"),
        item(dot(IDENTITY_COLOURS.pending), "pending/other")),
      el("h5", {}, "Other"),
      el("ul", {},
        item(dot(TRUTH_COLOUR, true), "truth object"),
        item(swatch(interceptorSvg(0)), "interceptor"),
        item(line(KILL_COLOUR, "5 4"), "missile"),
        item(swatch(KILL_SVG), "kill"),
        item(line(MISS_COLOUR, "2 3"), "miss"),
        item(line("#333", "4 3"), "truth path"),
        item(area(COVERAGE_COLOURS.detected), "detected"),
        item(area(COVERAGE_COLOURS.engageable), "engageable")),
      el("p", { class: "lg-note" }, "Tracks carry a 60 s velocity leader and their 2σ position-error ellipse."));
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  return control;
}

// ---------------------------------------------------------------------------------------------
// 6. Units, coverage, basemap
// ---------------------------------------------------------------------------------------------

let fittedOnce = false;

/** Pixel offsets that fan out n symbols standing at one place: the first in the middle, the others
 * on a ring around it, so that no unit hides another at any zoom. */
function fanOffsets(n) {
  if (n <= 1) return [[0, 0]];
  const ring = n - 1;
  const radius = Math.max(28, (ring * 34) / (2 * Math.PI)); // symbols are about 30 px wide
  return [[0, 0], ...Array.from({ length: ring }, (_, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / ring;
    return [Math.round(radius * Math.cos(a)), Math.round(radius * Math.sin(a))];
  })];
}

/** Each unit's fan offset among the units at its place (keyed by the place's coordinates). */
function fanUnits(features) {
  const byPlace = new Map();
  for (const f of features) {
    const c = f?.geometry?.coordinates;
    if (!Array.isArray(c)) continue;
    const key = `${c[0].toFixed(4)},${c[1].toFixed(4)}`;
    if (!byPlace.has(key)) byPlace.set(key, []);
    byPlace.get(key).push(f);
  }
  for (const members of byPlace.values()) {
    // parents in the middle: shallower units first
    members.sort((a, b) => (a.properties?.depth ?? 0) - (b.properties?.depth ?? 0));
    fanOffsets(members.length).forEach((offset, i) => { members[i].fan = offset; });
  }
}

function unitMarker(feature, latlng) {
  const p = feature.properties ?? {};
  const family = unitFamily(p.kind);
  const symbol = unitSymbol(p.sidc, p.nation, unitSize(p.kind));
  const size = symbol.size.height;
  const [dx, dy] = feature.fan ?? [0, 0];
  const icon = L.divIcon({
    className: `iad-unit iad-unit-${family}`,
    html: symbol.svg, // milsymbol's markup from a code of 15 letters or dashes (checked in unitSymbol)
    iconSize: [symbol.size.width, symbol.size.height],
    iconAnchor: [symbol.anchor.x - dx, symbol.anchor.y - dy],
  });
  const marker = L.marker(latlng, { icon, pane: "units", keyboard: false, riseOnHover: true });
  marker.bindTooltip(() => el("span", {}, p.name ?? p.unit_id ?? "unit"), { direction: "top", offset: [0, -size / 2] });
  marker.bindPopup(() => unitPopup(p), { maxWidth: 340 });
  marker.on("popupopen", () => showRings(p.unit_id));
  marker.on("popupclose", () => groups.rings?.clearLayers());
  marker.on("add", () => {
    const node = marker.getElement();
    if (node) {
      node.dataset.unitId = p.unit_id ?? "";
      node.dataset.sidc = p.sidc ?? "";
    }
  });
  return marker;
}

function unitPopup(p) {
  const totals = Array.isArray(p.totals) && p.totals.length
    ? el("span", {}, p.totals.map((t, i) => [i ? el("br") : null, `${t.count ?? "?"} × ${t.name ?? t.type ?? "?"}`]))
    : "none recorded";
  const sources = Array.isArray(p.sources) ? p.sources.join(", ") : p.sources;
  // What no source gives is said as plainly as what one does: a hypothetical unit must not look sourced.
  const assumed = p.assumed && typeof p.assumed === "object" ? Object.entries(p.assumed) : [];
  const assumptions = assumed.length
    ? el("span", { class: "iad-assumed" }, assumed.map(([field, why], i) => [i ? el("br") : null,
      el("b", {}, humanKind(field)), `: ${why}`]))
    : "none";
  const altitude = el("select", { class: "iad-ring-alt", "aria-label": "target altitude for the rings",
    onchange: (e) => showRings(p.unit_id, Number(e.target.value)) },
  RING_ALTITUDES_M.map((a) => el("option", { value: a, selected: a === ringAltitude }, `${groupDigits(a)} m`)));
  const rings = el("div", { class: "iad-rings" }, "Rings: loading…");
  return infoBox(p.name ?? p.unit_id ?? "Unit", [
    ["rings at", el("span", {}, altitude, " above ground")],
    ["reach", rings],
    ["kind", humanKind(p.kind)],
    ["nation", p.nation],
    ["place", p.place],
    ["alert duty", p.alert_duty === true ? "yes" : p.alert_duty === false ? "no" : null],
    ["equipment", totals],
    ["sources", sources],
    ["assumed", assumptions],
    ["note", p.note || null],
    ["id", p.unit_id],
  ]);
}

/** Target altitudes offered for a unit's rings; the last chosen is kept for the next popup. */
const RING_ALTITUDES_M = [100, 300, 1000, 3000, 10000];
let ringAltitude = 1000;

/** Draws the detection and engagement rings of a unit (and its subunits) at the chosen altitude,
 * and lists them in its popup. */
async function showRings(unitId, altitude = ringAltitude) {
  ringAltitude = altitude;
  if (!groups.rings) groups.rings = L.layerGroup().addTo(map);
  groups.rings.clearLayers();
  const run = status.run;
  const box = document.querySelector(".leaflet-popup .iad-rings");
  try {
    const data = await api(runPath(run, `units/${enc(unitId)}/rings?alt_m=${altitude}`));
    if (run !== status.run || altitude !== ringAltitude) return;
    for (const r of data.rings ?? []) {
      L.circle([r.lat_deg, r.lon_deg], {
        radius: r.radius_m, pane: "coverage", interactive: false, fill: false, weight: 1.5,
        color: r.quantity === "engagement" ? COVERAGE_COLOURS.engageable : COVERAGE_COLOURS.detected,
        dashArray: r.quantity === "engagement" ? null : "6 4", className: `iad-ring iad-ring-${r.quantity}`,
      }).addTo(groups.rings);
    }
    if (box) {
      const rows = (data.rings ?? []).map((r) => [r.count > 1 ? `${r.count} × ` : "", r.label, " ",
        `${groupDigits(Math.round(r.radius_m / 1000))} km`]);
      box.replaceChildren(...(rows.length
        ? rows.flatMap((parts, i) => (i ? [el("br"), ...parts] : parts))
        : ["no radar or fire unit reaches this altitude"]),
      el("div", { class: "lg-note" }, `${data.rcs_class} ${data.rcs_m2} m², Pd ${data.pd}, smooth earth`));
    }
    clearError("rings");
  } catch (err) {
    if (box) box.textContent = "Rings: not available";
    reportError("rings", "Rings", err);
  }
}

async function loadUnits(run, gen, hasUnits) {
  groups.units.clearLayers();
  if (!hasUnits) {
    fitIfFirst(null);
    return;
  }
  try {
    const data = await api(runPath(run, "layers/units"), { signal: runAbort.signal });
    if (gen !== runGen) return;
    const geojson = data?.geojson ?? data;
    fanUnits(geojson?.features ?? []);
    const layer = L.geoJSON(geojson, {
      pointToLayer: unitMarker,
      filter: (f) => f?.geometry?.type === "Point",
    });
    for (const marker of layer.getLayers()) groups.units.addLayer(marker);
    clearError("units");
    fitIfFirst(groups.units.getLayers().length ? layer.getBounds() : null);
  } catch (err) {
    if (isAbort(err) || gen !== runGen) return;
    reportError("units", "Units", err);
    fitIfFirst(null);
  } finally {
    if (gen === runGen) updateCounts();
  }
}

/** Fits the map to the units of the first run shown, then leaves the view to the user. */
function fitIfFirst(bounds) {
  if (fittedOnce) return;
  fittedOnce = true;
  if (bounds && bounds.isValid()) map.fitBounds(bounds.pad(0.08), { maxZoom: 8 });
  else map.fitBounds(BELARUS_BOUNDS);
}

const coverageState = { data: null, drawn: 0 };
const NO_COVERAGE = "This run has no coverage maps (start a run with coverage maps on).";

function resetCoverage(note) {
  coverageState.data = null;
  coverageState.drawn = 0;
  groups.coverage.clearLayers();
  const box = $("#layer-coverage");
  box.disabled = true;
  $("#coverage-altitude").replaceChildren();
  $("#coverage-altitude").disabled = true;
  $("#coverage-date").replaceChildren();
  $("#coverage-date").hidden = true;
  $("#coverage-quantity").disabled = true;
  $("#coverage-controls").hidden = true;
  setCoverageNote(note);
}

function setCoverageNote(text) {
  const note = $("#coverage-note");
  note.textContent = text ?? "";
  note.hidden = !text;
}

/**
 * Loads the run's coverage contours at one date (`asOf`; default the server's, the last). The
 * altitude chosen is kept when the new date has it.
 */
async function loadCoverage(run, gen, asOf = null) {
  // The timeline says whether the run has coverage maps: asking anyway would log a 404.
  if (play.timeline?.layers && play.timeline.layers.coverage === false) {
    resetCoverage(NO_COVERAGE);
    return;
  }
  const keepAltitude = $("#coverage-altitude").value;
  if (!asOf) resetCoverage("Loading coverage…");
  try {
    const query = asOf ? `?as_of=${enc(asOf)}` : "";
    const data = await api(runPath(run, `coverage${query}`), { signal: runAbort.signal });
    if (gen !== runGen) return;
    coverageState.data = data;
    const levels = Array.isArray(data?.layers_m) && data.layers_m.length
      ? data.layers_m
      : [...new Set((data?.geojson?.features ?? []).map((f) => f.properties?.altitude_m).filter(isNum))].sort((a, b) => a - b);
    const altSelect = $("#coverage-altitude");
    altSelect.replaceChildren(...levels.map((m) => el("option", { value: String(m) }, `${groupDigits(m)} m`)));
    if (levels.map(String).includes(keepAltitude)) altSelect.value = keepAltitude;
    altSelect.disabled = false;
    // A date choice only when the run has coverage at more than one date.
    const dates = Array.isArray(data?.dates) ? data.dates : [];
    const dateSelect = $("#coverage-date");
    dateSelect.replaceChildren(...dates.map((d) => el("option", { value: d }, d)));
    if (data?.as_of) dateSelect.value = data.as_of;
    dateSelect.hidden = dates.length < 2;
    dateSelect.disabled = dates.length < 2;
    $("#coverage-quantity").disabled = false;
    $("#coverage-controls").hidden = false;
    $("#layer-coverage").disabled = false;
    clearError("coverage");
    drawCoverage();
  } catch (err) {
    if (isAbort(err) || gen !== runGen) return;
    if (err.status === 404) {
      resetCoverage(NO_COVERAGE);
    } else {
      resetCoverage("Coverage could not be loaded.");
      reportError("coverage", "Coverage", err);
    }
  } finally {
    if (gen === runGen) updateCounts();
  }
}

function drawCoverage() {
  groups.coverage.clearLayers();
  coverageState.drawn = 0;
  const data = coverageState.data;
  if (!data) {
    updateCounts();
    return;
  }
  const altitude = Number($("#coverage-altitude").value);
  const quantity = $("#coverage-quantity").value;
  const colour = COVERAGE_COLOURS[quantity] ?? "#555";
  const features = (data.geojson?.features ?? []).filter((f) =>
    Number(f.properties?.altitude_m) === altitude && f.properties?.quantity === quantity);
  const layer = L.geoJSON({ type: "FeatureCollection", features }, {
    pane: "coverage",
    interactive: false,
    style: () => ({ className: "iad-coverage", color: colour, weight: 1.2, opacity: 0.8, fillColor: colour, fillOpacity: 0.16 }),
  });
  groups.coverage.addLayer(layer);
  coverageState.drawn = features.length;

  const p = features[0]?.properties ?? {};
  const bits = [
    `${quantity} at ${groupDigits(altitude)} m${p.altitude_ref ? ` ${String(p.altitude_ref).toUpperCase()}` : ""}`,
    p.group ? `${p.group} network` : null,
    isNum(p.pd_threshold) ? `Pd ≥ ${p.pd_threshold}` : null,
    p.rcs_class ? `${p.rcs_class}${isNum(p.rcs_m2) ? ` ${p.rcs_m2} m²` : ""}` : null,
    data.as_of ? `as of ${data.as_of}` : null,
  ].filter(Boolean);
  // The legend text describes what is drawn, so it shows only while the layer is on.
  const on = $("#layer-coverage").checked;
  setCoverageNote(!on ? null : features.length ? `Shaded: ${bits.join(", ")}.` : `No ${quantity} area at ${groupDigits(altitude)} m.`);
  updateCounts();
}

async function loadBasemap() {
  try {
    const data = await api("api/basemap");
    const layer = L.geoJSON(data, {
      pane: "basemap",
      interactive: false,
      style: (f) => {
        const focus = ["BLR", "RUS"].includes(f.properties?.iso_a3 ?? f.properties?.ISO_A3);
        return {
          className: "iad-border",
          color: focus ? "#7d8893" : "#a3acb5",
          weight: focus ? 1.1 : 0.8,
          fillColor: "#fbfbf9",
          fillOpacity: 1,
        };
      },
    });
    layer.addTo(map);
    countryLabels(data).addTo(map);
    clearError("basemap");
  } catch (err) {
    reportError("basemap", "Basemap", err);
  }
  loadTowns();
  loadRelief();
}

/** Terrain shading from the bundled DEM, rendered by the server (no tile server), over the land fill. */
async function loadRelief() {
  try {
    const data = await api("api/terrain");
    const [lon0, lon1, lat0, lat1] = data.bounds;
    groups.relief = L.imageOverlay(data.image, [[lat0, lon0], [lat1, lon1]], {
      pane: "relief", interactive: false, className: "iad-relief", alt: "terrain shading",
    }).addTo(map);
    map.attributionControl.addAttribution(data.attribution ?? "Relief: ETOPO5");
    clearError("relief");
  } catch (err) {
    reportError("relief", "Terrain shading", err);
  }
}

/** Towns that get a name on the map at each zoom (population at least this many). */
const TOWN_LABEL_POPULATION = [[5, 1000000], [6, 300000], [7, 100000], [8, 40000], [99, 15000]];

/** The bundled towns (GeoNames): a dot for every town, its name when the zoom makes room for it. */
async function loadTowns() {
  try {
    const data = await api("api/towns");
    const towns = L.layerGroup();
    for (const t of data.towns ?? []) {
      if (!isNum(t.lat_deg) || !isNum(t.lon_deg)) continue;
      const icon = L.divIcon({
        className: "iad-town",
        html: el("span", {}, el("span", { class: "iad-town-dot" }), el("span", { class: "iad-town-name" }, t.name)),
        iconSize: [0, 0],
      });
      const marker = L.marker([t.lat_deg, t.lon_deg], { icon, pane: "labels", interactive: false, keyboard: false });
      marker.population = t.population;
      marker.townName = t.name;
      towns.addLayer(marker);
    }
    groups.towns = towns;
    towns.addTo(map);
    const update = () => {
      const zoom = map.getZoom();
      const min = TOWN_LABEL_POPULATION.find(([z]) => zoom < z)?.[1] ?? 15000;
      for (const m of towns.getLayers()) {
        const node = m.getElement();
        if (node) node.classList.toggle("iad-town-named", m.population >= min);
      }
    };
    map.on("zoomend", update);
    towns.eachLayer((m) => m.on("add", update));
    update();
    map.attributionControl.addAttribution(data.attribution ?? "Towns: GeoNames");
    clearError("towns");
  } catch (err) {
    reportError("towns", "Towns", err);
  }
}

/** Country names at the centre of each country's largest polygon's bounding box. */
function countryLabels(geojson) {
  const labels = L.layerGroup();
  for (const f of geojson?.features ?? []) {
    const g = f.geometry;
    if (!g) continue;
    const polygons = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    let best = null;
    for (const poly of polygons) {
      const ring = poly[0] ?? [];
      const lons = ring.map((c) => c[0]);
      const lats = ring.map((c) => c[1]);
      const box = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
      const area = (box[2] - box[0]) * (box[3] - box[1]);
      if (!best || area > best.area) best = { area, box };
    }
    if (!best || best.area < 2) continue; // too small to label without clutter
    const props = f.properties ?? {};
    const name = String(props.name ?? props.NAME ?? props.ADMIN ?? "").replace(/\s*\(.*\)$/, "");
    if (!name) continue;
    // An element, not an HTML string: the name comes from data. Zero-size icon; the CSS centres
    // the text on the point.
    const icon = L.divIcon({ className: "iad-country-label", html: el("span", {}, name), iconSize: [0, 0] });
    labels.addLayer(L.marker([(best.box[1] + best.box[3]) / 2, (best.box[0] + best.box[2]) / 2], {
      icon, pane: "labels", interactive: false, keyboard: false,
    }));
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// 7. Frames: truth, tracks, interceptors, engagements
// ---------------------------------------------------------------------------------------------

/**
 * Keeps one Leaflet layer per key inside a group across frames: new keys are created, existing
 * ones updated in place (setLatLng, setStyle), missing ones removed. Rebuilding every layer on
 * each frame would flicker and lose open tooltips.
 */
class Keyed {
  constructor(group, create, update) {
    this.group = group;
    this.create = create;
    this.update = update;
    this.layers = new Map();
  }

  get size() {
    return this.layers.size;
  }

  sync(items, keyOf) {
    const seen = new Set();
    for (const item of items) {
      let key = keyOf(item);
      if (seen.has(key)) {
        // Two items with one key (e.g. a salvo of two missiles at one track): keep both, in order.
        let n = 2;
        while (seen.has(`${key}#${n}`)) n += 1;
        key = `${key}#${n}`;
      }
      seen.add(key);
      const layer = this.layers.get(key);
      if (layer) {
        this.update(layer, item, key);
      } else {
        const made = this.create(item, key);
        this.layers.set(key, made);
        this.group.addLayer(made);
      }
    }
    for (const [key, layer] of this.layers) {
      if (!seen.has(key)) {
        this.group.removeLayer(layer);
        this.layers.delete(key);
      }
    }
  }

  clear() {
    for (const layer of this.layers.values()) this.group.removeLayer(layer);
    this.layers.clear();
  }
}

const hasPos = (item) => isNum(item?.lat_deg) && isNum(item?.lon_deg);

// Truth ------------------------------------------------------------------------------------------

function truthTooltip(o) {
  return infoBox(`Truth: ${o.object_id}`, [
    ["type", humanKind(o.type)],
    ["nation", o.nation],
    ["altitude", fmtAlt(o.alt_m)],
    ["speed", fmtKmh(o.speed_mps)],
    ["heading", isNum(o.heading_deg) ? `${Math.round(o.heading_deg)}°` : null],
  ]);
}

function makeTruth(o) {
  const ring = L.circleMarker([o.lat_deg, o.lon_deg], {
    pane: "truth",
    radius: 7.5,
    className: "iad-truth",
    color: TRUTH_COLOUR,
    weight: 1.5,
    opacity: 0.85,
    fill: true,
    fillOpacity: 0, // hollow, but the inside still takes the pointer for the tooltip
  });
  ring.iadData = o;
  ring.bindTooltip(() => truthTooltip(ring.iadData), { direction: "top", offset: [0, -7] });
  ring.on("add", () => {
    const path = ring.getElement();
    if (path) path.dataset.objectId = o.object_id;
  });
  return ring;
}

function updateTruth(ring, o) {
  ring.iadData = o;
  ring.setLatLng([o.lat_deg, o.lon_deg]);
  refreshTooltip(ring);
}

/** Re-evaluates an open tooltip whose content is a function of the layer's latest data. */
function refreshTooltip(layer) {
  if (layer.isTooltipOpen()) layer.getTooltip().update();
}

// Tracks -----------------------------------------------------------------------------------------

/** Keyed track layers by node: node -> Keyed. */
const trackLayers = new Map();
let selectedTrack = null; // {node, trackId}

const trackKey = (node, trackId) => `${node}\u0000${trackId}`;

function trackStyle(t) {
  // A dark rim keeps the pale identity colours (unknown yellow) visible on the light basemap.
  return { color: "#2b3137", weight: 1, opacity: 0.75, fillColor: identityColour(t.identity), fillOpacity: 1 };
}

function leaderPoints(t) {
  return [[t.lat_deg, t.lon_deg], advance(t.lat_deg, t.lon_deg, t.speed_mps, t.heading_deg, LEADER_S)];
}

function trackTooltip(node, t) {
  return infoBox(`${nodeName(node)} · track ${t.track_id}`, [
    ["identity", t.identity ?? "–"],
    ["altitude", fmtAlt(t.alt_m)],
    ["speed", fmtKmh(t.speed_mps)],
    ["heading", isNum(t.heading_deg) ? `${Math.round(t.heading_deg)}°` : null],
    ["object", t.object_id || null],
    ["sources", t.sources],
    ["last update", isNum(t.age_s) ? `${Math.round(t.age_s)} s ago` : null],
    ["position error", isNum(t.error_major_m)
      ? `${groupDigits(Math.round(t.error_major_m))} × ${groupDigits(Math.round(t.error_minor_m))} m (1σ); ellipse ${ELLIPSE_SIGMAS}σ`
      : null],
  ]);
}

function markSelected(dot, node, trackId) {
  const path = dot.getElement();
  if (!path) return;
  const on = selectedTrack !== null && selectedTrack.node === node && String(selectedTrack.trackId) === String(trackId);
  path.classList.toggle("iad-selected", on);
}

/** Sigmas of the error ellipse drawn round a track: 2σ (about 86 % of a 2-D Gaussian error). */
const ELLIPSE_SIGMAS = 2;

/** The track's horizontal position-error ellipse (ELLIPSE_SIGMAS × its 1σ axes, from the picture's
 * error_major_m, error_minor_m, error_bearing_deg) as 36 points; none where the run has no errors. */
function ellipsePoints(t) {
  if (!isNum(t.error_major_m) || !isNum(t.error_minor_m) || !isNum(t.error_bearing_deg)) return [];
  const a = ELLIPSE_SIGMAS * t.error_major_m;
  const b = ELLIPSE_SIGMAS * t.error_minor_m;
  const theta = (t.error_bearing_deg * Math.PI) / 180; // clockwise from north
  const mPerDegLat = 111320;
  const mPerDegLon = 111320 * Math.cos((t.lat_deg * Math.PI) / 180);
  const out = [];
  for (let i = 0; i < 36; i++) {
    const u = (2 * Math.PI * i) / 36;
    const along = a * Math.cos(u);
    const across = b * Math.sin(u);
    const east = along * Math.sin(theta) + across * Math.cos(theta);
    const north = along * Math.cos(theta) - across * Math.sin(theta);
    out.push([t.lat_deg + north / mPerDegLat, t.lon_deg + east / mPerDegLon]);
  }
  return out;
}

function makeTrack(node) {
  return (t) => {
    const colour = identityColour(t.identity);
    const ellipse = L.polygon(ellipsePoints(t), {
      pane: "tracks", interactive: false, className: "iad-ellipse", color: colour, weight: 1,
      opacity: 0.8, fillOpacity: 0.08,
    });
    const dot = L.circleMarker([t.lat_deg, t.lon_deg], {
      pane: "tracks",
      radius: 4.5,
      className: `iad-track iad-track-${sanitise(node)}-${sanitise(t.track_id)}`,
      ...trackStyle(t),
    });
    const leader = L.polyline(leaderPoints(t), {
      pane: "tracks",
      interactive: false,
      className: "iad-leader",
      color: colour,
      weight: 1.5,
      opacity: 0.9,
    });
    dot.iadData = t;
    dot.bindTooltip(() => trackTooltip(node, dot.iadData), { direction: "top", offset: [0, -5] });
    dot.on("click", () => openTrack(node, dot.iadData.track_id));
    dot.on("add", () => {
      const path = dot.getElement();
      if (path) {
        path.dataset.node = node;
        path.dataset.trackId = String(t.track_id);
      }
      markSelected(dot, node, t.track_id);
    });
    const pair = L.layerGroup([ellipse, leader, dot]);
    pair.dot = dot;
    pair.leader = leader;
    pair.ellipse = ellipse;
    return pair;
  };
}

function updateTrack(node) {
  return (pair, t) => {
    const { dot, leader, ellipse } = pair;
    const before = dot.iadData;
    dot.iadData = t;
    dot.setLatLng([t.lat_deg, t.lon_deg]);
    if (before.identity !== t.identity) {
      dot.setStyle(trackStyle(t));
      leader.setStyle({ color: identityColour(t.identity) });
      ellipse.setStyle({ color: identityColour(t.identity) });
    }
    leader.setLatLngs(leaderPoints(t));
    ellipse.setLatLngs(ellipsePoints(t));
    refreshTooltip(dot);
    markSelected(dot, node, t.track_id);
  };
}

function trackLayerFor(node) {
  let keyed = trackLayers.get(node);
  if (!keyed) {
    keyed = new Keyed(nodeGroup(node), makeTrack(node), updateTrack(node));
    trackLayers.set(node, keyed);
  }
  return keyed;
}

function nodeGroup(node) {
  let group = nodeGroups.get(node);
  if (!group) {
    group = L.layerGroup();
    nodeGroups.set(node, group);
  }
  return group;
}

// Interceptors -----------------------------------------------------------------------------------

function interceptorTooltip(i) {
  return infoBox(`Interceptor ${i.flight_id}`, [
    ["aircraft", i.aircraft],
    ["unit", i.unit],
    ["phase", humanKind(i.phase)],
    ["altitude", fmtAlt(i.alt_m)],
  ]);
}

function makeInterceptor(i) {
  const marker = L.marker([i.lat_deg, i.lon_deg], {
    pane: "interceptors",
    keyboard: false,
    icon: L.divIcon({ className: "iad-interceptor", html: interceptorSvg(null), iconSize: [18, 18], iconAnchor: [9, 9] }),
  });
  marker.iadData = i;
  marker.iadHeading = null;
  marker.bindTooltip(() => interceptorTooltip(marker.iadData), { direction: "top", offset: [0, -9] });
  marker.on("add", () => {
    const node = marker.getElement();
    if (node) node.dataset.flightId = i.flight_id;
    rotateInterceptor(marker);
  });
  return marker;
}

function rotateInterceptor(marker) {
  const svg = marker.getElement()?.querySelector("svg");
  if (svg && isNum(marker.iadHeading)) svg.style.transform = `rotate(${marker.iadHeading}deg)`;
}

function updateInterceptor(marker, i) {
  const prev = marker.iadData;
  // The frame gives no heading for interceptors: take it from the last two positions seen.
  if (prev && hasPos(prev) && (Math.abs(prev.lat_deg - i.lat_deg) + Math.abs(prev.lon_deg - i.lon_deg)) > 1e-4) {
    marker.iadHeading = bearing(prev.lat_deg, prev.lon_deg, i.lat_deg, i.lon_deg);
    rotateInterceptor(marker);
  }
  marker.iadData = i;
  marker.setLatLng([i.lat_deg, i.lon_deg]);
  refreshTooltip(marker);
}

// Engagements ------------------------------------------------------------------------------------

const ENGAGEMENT_STYLES = {
  in_flight: { color: KILL_COLOUR, weight: 2, opacity: 0.95, dashArray: "6 5" },
  killed: { color: KILL_COLOUR, weight: 2, opacity: 0.95, dashArray: null },
  missed: { color: MISS_COLOUR, weight: 1.6, opacity: 0.9, dashArray: "2 4" },
};

const engagementKey = (e) => `${e.fire_unit}|${e.node}|${e.track_id}|${e.object_id}|${e.launch_s}|${e.intercept_s}`;
const engagementPoints = (e) => [[e.unit_lat_deg, e.unit_lon_deg], [e.target_lat_deg, e.target_lon_deg]];

function engagementTooltip(e) {
  return infoBox(`Engagement by ${e.fire_unit}`, [
    ["system", e.system],
    ["state", humanKind(e.state)],
    ["node", e.node],
    ["track", e.track_id],
    ["object", e.object_id || null],
    ["launch", formatT(e.launch_s)],
    ["intercept", isNum(e.intercept_s) ? formatT(e.intercept_s) : null],
  ]);
}

function makeEngagement(e) {
  const line = L.polyline(engagementPoints(e), {
    pane: "engagements",
    className: "iad-engagement",
    ...(ENGAGEMENT_STYLES[e.state] ?? ENGAGEMENT_STYLES.in_flight),
  });
  line.iadData = e;
  line.bindTooltip(() => engagementTooltip(line.iadData), { sticky: true });
  line.on("add", () => {
    const path = line.getElement();
    if (path) path.dataset.state = line.iadData.state;
  });
  const group = L.layerGroup([line]);
  group.line = line;
  group.kill = null;
  setKillMark(group, e);
  return group;
}

function setKillMark(group, e) {
  const killed = e.state === "killed" && isNum(e.target_lat_deg) && isNum(e.target_lon_deg);
  if (killed && !group.kill) {
    group.kill = L.marker([e.target_lat_deg, e.target_lon_deg], {
      pane: "marks",
      keyboard: false,
      interactive: false,
      icon: L.divIcon({ className: "iad-kill", html: KILL_SVG, iconSize: [16, 16], iconAnchor: [8, 8] }),
    });
    group.addLayer(group.kill);
  } else if (killed) {
    group.kill.setLatLng([e.target_lat_deg, e.target_lon_deg]);
  } else if (group.kill) {
    group.removeLayer(group.kill);
    group.kill = null;
  }
}

function updateEngagement(group, e) {
  const { line } = group;
  const before = line.iadData;
  line.iadData = e;
  line.setLatLngs(engagementPoints(e));
  if (before.state !== e.state) {
    line.setStyle(ENGAGEMENT_STYLES[e.state] ?? ENGAGEMENT_STYLES.in_flight);
    const path = line.getElement();
    if (path) path.dataset.state = e.state;
  }
  setKillMark(group, e);
  refreshTooltip(line);
}

/** Frame layers kept across frames (tracks are per node, in trackLayers). */
let truthLayers;
let interceptorLayers;
let engagementLayers;

function initFrameLayers() {
  truthLayers = new Keyed(groups.truth, makeTruth, updateTruth);
  interceptorLayers = new Keyed(groups.interceptors, makeInterceptor, updateInterceptor);
  engagementLayers = new Keyed(groups.engagements, makeEngagement, updateEngagement);
}

function clearFrameLayers() {
  truthLayers.clear();
  interceptorLayers.clear();
  engagementLayers.clear();
  for (const keyed of trackLayers.values()) keyed.clear();
}

/** Draws one frame; each part is drawn on its own so one bad part does not stop the others. */
function drawFrame(frame) {
  const parts = [
    ["truth", () => truthLayers.sync((frame.truth ?? []).filter(hasPos), (o) => o.object_id)],
    // a flight is a pair: each aircraft is its own marker
    ["interceptors", () => interceptorLayers.sync((frame.interceptors ?? []).filter(hasPos),
      (i) => `${i.flight_id}/${i.aircraft}`)],
    ["engagements", () => engagementLayers.sync(
      (frame.engagements ?? []).filter((e) => isNum(e.unit_lat_deg) && isNum(e.target_lat_deg)), engagementKey)],
    ["picture", () => {
      const picture = frame.picture ?? {};
      for (const [node, keyed] of trackLayers) {
        if (!(node in picture)) keyed.clear();
      }
      const active = activeNodes();
      for (const [node, tracks] of Object.entries(picture)) {
        if (!active.includes(node)) continue;
        trackLayerFor(node).sync((tracks ?? []).filter(hasPos), (t) => String(t.track_id));
      }
    }],
  ];
  for (const [name, draw] of parts) {
    try {
      draw();
      clearError(`draw-${name}`);
    } catch (err) {
      reportError(`draw-${name}`, `Could not draw ${name}`, err);
    }
  }
  status.frameS = isNum(frame.t) ? frame.t : null;
  updateCounts();
}

// ---------------------------------------------------------------------------------------------
// 8. Playback and time bar
// ---------------------------------------------------------------------------------------------

const play = {
  timeline: null, // the run's timeline, or null
  simT: 0, // simulated time shown by the clock (s from scenario start)
  lastTick: 0, // performance.now() of the last animation frame
  lastRequest: 0, // performance.now() of the last frame request
  rafId: 0,
  inFlight: false, // one frame request at a time
  wanted: null, // a time asked for while a request was in flight (drawn when idle)
  frameT: null, // time of the frame on the map
  debounce: 0,
};

const hasSimulation = () => !!play.timeline && play.timeline.end_s > play.timeline.start_s;

function frameLayersExist() {
  const layers = play.timeline?.layers ?? {};
  return !!(layers.truth || layers.picture || layers.interceptors || layers.engagements);
}

function activeNodes() {
  return [...document.querySelectorAll("#node-list input[data-node]")]
    .filter((box) => box.checked)
    .map((box) => box.dataset.node);
}

function setClock(t) {
  play.simT = t;
  status.timeS = t;
  $("#clock").textContent = formatT(t);
  renderEventLog(t);
}

/** Requests the frame at `t`; while a request is in flight, only the latest wish is kept. */
async function fetchFrame(t) {
  if (!status.run || !play.timeline || !frameLayersExist()) return;
  if (play.inFlight) {
    play.wanted = t;
    return;
  }
  const run = status.run;
  const gen = runGen;
  play.inFlight = true;
  play.wanted = null;
  play.lastRequest = performance.now();
  const params = new URLSearchParams({ t: String(Math.round(t * 1000) / 1000) });
  for (const node of activeNodes()) params.append("node", node);
  try {
    const frame = await api(runPath(run, `frame?${params}`), { signal: runAbort.signal });
    if (gen !== runGen) return;
    drawFrame(frame ?? {});
    play.frameT = isNum(frame?.t) ? frame.t : t;
    mergeFrameEvents(frame?.events);
    renderEventLog(play.simT);
    clearError("frame");
  } catch (err) {
    if (isAbort(err) || gen !== runGen) return;
    reportError("frame", `Frame at ${formatT(t)}`, err);
    if (status.playing) setPlaying(false, { catchUp: false }); // do not hammer a failing server
  } finally {
    if (gen === runGen) {
      play.inFlight = false;
      // While paused, draw the last time asked for during the request (the end of a drag, or
      // the same time again after a node was switched on: so always fetch, even for that time).
      if (!status.playing && play.wanted !== null) {
        const next = play.wanted;
        play.wanted = null;
        fetchFrame(next);
      }
    }
  }
}

function tick(now) {
  play.rafId = 0;
  if (!status.playing) return;
  const tl = play.timeline;
  const speed = Number($("#speed").value) || 1;
  const dt = Math.min(1, (now - play.lastTick) / 1000); // a background tab must not leap ahead
  play.lastTick = now;
  let t = play.simT + dt * speed;
  const atEnd = t >= tl.end_s;
  if (atEnd) t = tl.end_s;
  setClock(t);
  $("#time-slider").value = String(t);
  if (atEnd) {
    setPlaying(false, { catchUp: false });
    fetchFrame(t); // the final frame, queued if a request is still in flight
    return;
  }
  // Skip, don't queue: with a request in flight this tick asks for nothing.
  if (!play.inFlight && now - play.lastRequest >= FRAME_INTERVAL_MS) fetchFrame(t);
  play.rafId = requestAnimationFrame(tick);
}

/** Plays or pauses; on pause the map catches up with the clock unless `catchUp` is false. */
function setPlaying(on, { catchUp = true } = {}) {
  const button = $("#play");
  if (on && !hasSimulation()) on = false;
  status.playing = on;
  button.textContent = on ? "Pause" : "Play";
  button.setAttribute("aria-pressed", on ? "true" : "false");
  if (on) {
    if (play.simT >= play.timeline.end_s) setClock(play.timeline.start_s); // replay from the start
    play.lastTick = performance.now();
    if (!play.rafId) play.rafId = requestAnimationFrame(tick);
  } else {
    if (play.rafId) {
      cancelAnimationFrame(play.rafId);
      play.rafId = 0;
    }
    // frames are fetched a few times a second while playing: the map may be a step behind
    // (frames are asked for to the millisecond)
    if (catchUp && hasSimulation() && !(Math.abs(play.frameT - play.simT) < 0.001)) fetchFrame(play.simT);
  }
}

/**
 * Moves the clock to `t` and fetches that frame. For a drag (`debounce`), frames follow the
 * slider at most ~5 times a second and the position where it comes to rest is always drawn.
 */
function seek(t, { debounce = false } = {}) {
  if (!play.timeline) return;
  const tl = play.timeline;
  const clamped = Math.min(tl.end_s, Math.max(tl.start_s, t));
  setClock(clamped);
  $("#time-slider").value = String(clamped);
  if (status.playing) return; // the running clock fetches frames itself
  clearTimeout(play.debounce);
  if (!debounce) {
    fetchFrame(clamped);
    return;
  }
  if (!play.inFlight && performance.now() - play.lastRequest >= FRAME_INTERVAL_MS) fetchFrame(clamped);
  else play.debounce = setTimeout(() => fetchFrame(play.simT), SLIDER_DEBOUNCE_MS);
}

function initTimeBar() {
  $("#play").addEventListener("click", () => setPlaying(!status.playing));
  $("#time-slider").addEventListener("input", (e) => seek(Number(e.target.value), { debounce: true }));
  $("#time-slider").addEventListener("change", (e) => seek(Number(e.target.value), { debounce: true }));
}

function applyTimeline(tl) {
  play.timeline = tl;
  const slider = $("#time-slider");
  const start = isNum(tl?.start_s) ? tl.start_s : 0;
  const end = isNum(tl?.end_s) ? tl.end_s : start;
  if (tl) {
    tl.start_s = start;
    tl.end_s = end;
  }
  slider.min = String(start);
  slider.max = String(end);
  slider.step = String(isNum(tl?.step_s) && tl.step_s > 0 ? tl.step_s : 1);
  slider.value = String(start);
  const live = !!tl && end > start;
  slider.disabled = !live;
  $("#play").disabled = !live;
  $("#clock-end").textContent = live ? `of ${formatT(end)}` : tl ? "no simulation in this run" : "";
  buildNodeList(tl?.nodes ?? []);
  timelineEvents = Array.isArray(tl?.events) ? [...tl.events].sort((a, b) => a.time_s - b.time_s) : [];
  eventsTruncated = !!tl?.events_truncated;
  frameEvents = [];
  eventLogKey = "";
  setClock(start);
}

function buildNodeList(nodes) {
  const list = $("#node-list");
  for (const group of nodeGroups.values()) map.removeLayer(group);
  list.replaceChildren();
  if (!nodes.length) {
    list.append(el("p", { class: "note" }, "No picture in this run."));
    return;
  }
  nodes.forEach((node, i) => {
    const box = el("input", { type: "checkbox", dataset: { node }, checked: i === 0 });
    box.addEventListener("change", () => {
      const group = nodeGroup(node);
      if (box.checked) {
        group.addTo(map);
        if (!status.playing) fetchFrame(play.simT); // that node's tracks are not in the last frame
      } else {
        map.removeLayer(group);
        trackLayers.get(node)?.clear();
      }
      updateCounts();
    });
    list.append(el("label", { title: node }, box, el("span", { class: "node-name" }, nodeName(node))));
    if (i === 0) nodeGroup(node).addTo(map);
  });
}

// ---------------------------------------------------------------------------------------------
// 9. Track history panel, events list
// ---------------------------------------------------------------------------------------------

let trackGen = 0;

/** Ends the track history above the bottom-right controls (legend, scale bar), which stay in view. */
function fitTrackPanel() {
  const panel = $("#track-panel");
  if (panel.hidden) return;
  const corner = document.querySelector(".leaflet-bottom.leaflet-right");
  const bottom = corner ? corner.getBoundingClientRect().top : $("#map").getBoundingClientRect().bottom;
  panel.style.maxHeight = `${Math.max(TRACK_PANEL_MIN_PX, bottom - panel.getBoundingClientRect().top - 8)}px`;
}

function closeTrack() {
  trackGen += 1;
  $("#track-panel").hidden = true;
  groups.history.clearLayers();
  const previous = selectedTrack;
  selectedTrack = null;
  if (previous) {
    const pair = trackLayers.get(previous.node)?.layers.get(String(previous.trackId));
    if (pair) markSelected(pair.dot, previous.node, previous.trackId);
  }
}

const rowSpeed = (r) => (isNum(r.vel_east_mps) && isNum(r.vel_north_mps) ? Math.hypot(r.vel_east_mps, r.vel_north_mps) : null);

/** Row indexes to show: all, or (if long) every identity change, first, last and even samples. */
function historyRows(rows) {
  if (rows.length <= HISTORY_FULL_ROWS) return rows.map((_, i) => i);
  const keep = new Set([0, rows.length - 1]);
  for (let i = 1; i < rows.length; i += 1) {
    if (rows[i].identity !== rows[i - 1].identity) keep.add(i);
  }
  const step = Math.max(1, Math.floor(rows.length / HISTORY_SAMPLED_ROWS));
  for (let i = 0; i < rows.length; i += step) keep.add(i);
  return [...keep].sort((a, b) => a - b);
}

async function openTrack(node, trackId) {
  const run = status.run;
  const gen = ++trackGen;
  const previous = selectedTrack;
  selectedTrack = { node, trackId };
  for (const sel of [previous, selectedTrack]) {
    const pair = sel && trackLayers.get(sel.node)?.layers.get(String(sel.trackId));
    if (pair) markSelected(pair.dot, sel.node, sel.trackId);
  }
  const panel = $("#track-panel");
  panel.hidden = false;
  fitTrackPanel();
  $("#track-title").textContent = `${nodeName(node)} · track ${trackId}`;
  $("#track-meta").textContent = "Loading history…";
  const tbody = $("#track-history tbody");
  tbody.replaceChildren();
  groups.history.clearLayers();

  let data;
  try {
    data = await api(runPath(run, `tracks/${enc(node)}/${enc(trackId)}`));
  } catch (err) {
    if (gen !== trackGen) return;
    $("#track-meta").textContent = "The history could not be loaded.";
    reportError("track", `Track ${trackId} at ${node}`, err);
    return;
  }
  if (gen !== trackGen || run !== status.run) return;
  clearError("track");
  const rows = (data?.rows ?? []).filter(hasPos);

  // History, coloured by identity: one polyline per run of equal identity.
  let segment = [];
  const flush = (identity) => {
    if (segment.length > 1) {
      groups.history.addLayer(L.polyline(segment, {
        pane: "history", className: "iad-history", color: identityColour(identity), weight: 3, opacity: 0.85, interactive: false,
      }));
    }
  };
  rows.forEach((r, i) => {
    segment.push([r.lat_deg, r.lon_deg]);
    const next = rows[i + 1];
    if (!next || next.identity !== r.identity) {
      if (next) segment.push([next.lat_deg, next.lon_deg]); // join the segments
      flush(r.identity);
      segment = [];
    }
  });
  if (rows.length === 1) {
    groups.history.addLayer(L.circleMarker([rows[0].lat_deg, rows[0].lon_deg], {
      pane: "history", className: "iad-history", radius: 3, color: identityColour(rows[0].identity), interactive: false,
    }));
  }

  // Table.
  const shownIdx = historyRows(rows);
  tbody.replaceChildren(...shownIdx.map((i) => {
    const r = rows[i];
    const changed = i > 0 && rows[i - 1].identity !== r.identity;
    const tr = el("tr", { class: changed ? "id-change" : null, title: "Show this moment" },
      el("td", {}, formatT(r.time_s).slice(2)),
      el("td", {}, el("span", { class: "swatch", style: `background:${identityColour(r.identity)}` }), r.identity ?? "–"),
      el("td", {}, fmtFixed(r.lat_deg, 3)),
      el("td", {}, fmtFixed(r.lon_deg, 3)),
      el("td", {}, isNum(r.alt_m) ? groupDigits(Math.round(r.alt_m)) : "–"),
      el("td", {}, isNum(rowSpeed(r)) ? String(Math.round(rowSpeed(r) * 3.6)) : "–"));
    tr.addEventListener("click", () => {
      map.panTo([r.lat_deg, r.lon_deg]);
      seek(r.time_s);
    });
    return tr;
  }));

  const objectIds = [...new Set(rows.map((r) => r.object_id).filter((o) => typeof o === "string" && o))];
  const span = rows.length ? `${formatT(rows[0].time_s)} to ${formatT(last(rows).time_s)}` : "no positions";
  const sampled = shownIdx.length < rows.length
    ? ` Showing ${shownIdx.length} of ${rows.length} updates: every identity change, the first, the last and even samples.`
    : "";
  const drawn = objectIds.slice(0, HISTORY_MAX_OBJECTS);
  const object = !objectIds.length ? " No truth object associated."
    : objectIds.length === 1 ? ` Object ${objectIds[0]} (truth path dashed).`
      : ` Objects ${objectIds.join(", ")} (truth paths dashed${drawn.length < objectIds.length ? `, the first ${drawn.length}` : ""}).`;
  $("#track-meta").textContent = `${rows.length} updates, ${span}.${object}${sampled}`;

  // The path of every object the track followed (a track can pass from one object to another).
  const paths = await Promise.allSettled(drawn.map((id) => api(runPath(run, `objects/${enc(id)}`))));
  if (gen !== trackGen || run !== status.run) return;
  paths.forEach((result, i) => {
    if (result.status === "rejected") {
      reportError("track", `Truth path of ${drawn[i]}`, result.reason);
      return;
    }
    const points = (result.value?.rows ?? []).filter(hasPos).map((r) => [r.lat_deg, r.lon_deg]);
    if (points.length > 1) {
      groups.history.addLayer(L.polyline(points, {
        pane: "history", className: "iad-truth-path", color: "#333", weight: 1.5, opacity: 0.8, dashArray: "5 4", interactive: false,
      }));
    }
  });
}

// Events --------------------------------------------------------------------------------------

let timelineEvents = [];
let eventsTruncated = false;
/** Events seen in frames, used when the timeline's list was cut short. */
let frameEvents = [];

const eventKey = (e) => `${e.time_s}|${e.kind}|${e.node}|${e.subject}|${e.track_id}|${e.object_id}`;

function mergeFrameEvents(events) {
  if (!eventsTruncated || !Array.isArray(events) || !events.length) return;
  const known = new Set(frameEvents.map(eventKey));
  for (const e of events) {
    if (!known.has(eventKey(e))) frameEvents.push(e);
  }
  frameEvents.sort((a, b) => a.time_s - b.time_s);
  if (frameEvents.length > 2000) frameEvents = frameEvents.slice(-2000);
}

/** Index of the first event later than t (events sorted by time). */
function upperBound(events, t) {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].time_s <= t + 1e-9) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let eventLogKey = "";

function renderEventLog(t) {
  const list = $("#event-log");
  let recent = timelineEvents.slice(Math.max(0, upperBound(timelineEvents, t) - EVENT_LOG_SIZE), upperBound(timelineEvents, t));
  if (eventsTruncated && frameEvents.length) {
    const seen = new Set(recent.map(eventKey));
    const extra = frameEvents.slice(0, upperBound(frameEvents, t)).filter((e) => !seen.has(eventKey(e)));
    recent = [...recent, ...extra].sort((a, b) => a.time_s - b.time_s).slice(-EVENT_LOG_SIZE);
  }
  // Re-render only when the visible list changes (the clock ticks at 60 Hz while playing).
  const key = `${recent.length}|${recent.length ? eventKey(last(recent)) : ""}|${recent.length ? eventKey(recent[0]) : ""}`;
  if (key === eventLogKey && list.childElementCount) return;
  eventLogKey = key;
  if (!recent.length) {
    const text = play.timeline ? (timelineEvents.length || eventsTruncated ? "No events yet at this time." : "No C2 events in this run.") : "—";
    list.replaceChildren(el("li", { class: "empty" }, text));
    return;
  }
  list.replaceChildren(...recent.reverse().map((e) => {
    // The track a node acted on, unless the subject names it; then the object it followed, if any.
    const track = isNum(e.track_id) && !e.subject ? `track ${e.track_id}` : null;
    const what = [e.subject, track, e.object_id && e.object_id !== e.subject ? e.object_id : null, e.detail].filter(Boolean).join(" · ");
    const li = el("li", { title: "Go to this moment", dataset: { time: e.time_s } },
      el("span", { class: "ev-time" }, formatT(e.time_s).slice(2)),
      el("span", {}, el("span", { class: "ev-kind" }, humanKind(e.kind)), what ? ` ${what}` : ""),
      el("span", { class: "ev-node" }, e.node ?? ""));
    li.addEventListener("click", () => seek(e.time_s));
    return li;
  }));
}

// ---------------------------------------------------------------------------------------------
// 10. Runs, scenarios and jobs; start-up
// ---------------------------------------------------------------------------------------------

let runs = [];
let runGen = 0;
let runAbort = new AbortController();

function renderRunSummary(entry, summary) {
  const dl = $("#run-summary");
  const sim = summary?.simulation ?? {};
  const duration = formatDuration(isNum(sim.duration_s) ? sim.duration_s : summary?.duration_s);
  const items = [
    ["scenario", summary?.scenario ?? entry?.scenario],
    ["as of", summary?.as_of ?? entry?.as_of],
    ["arrangement", summary?.arrangement ?? entry?.arrangement],
    ["duration", duration],
    ["seed", summary?.seed],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  dl.replaceChildren(...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

async function loadSummary(run, gen, entry) {
  renderRunSummary(entry, null);
  if (entry?.error) {
    showError("summary", entry.error);
    return;
  }
  try {
    const summary = await api(runPath(run, "summary"), { signal: runAbort.signal });
    if (gen !== runGen) return;
    renderRunSummary(entry, summary);
    clearError("summary");
  } catch (err) {
    if (isAbort(err) || gen !== runGen) return;
    if (err.status !== 404) reportError("summary", "Summary", err);
  }
}

async function loadTimeline(run, gen) {
  try {
    const tl = await api(runPath(run, "timeline"), { signal: runAbort.signal });
    if (gen !== runGen) return;
    applyTimeline(tl);
    clearError("timeline");
    // tables the server could not play back (the other layers still play): say which
    const problems = Array.isArray(tl?.problems) ? tl.problems : [];
    if (problems.length) showError("timeline-problems", `Run ${run}: ${problems.join("; ")}`);
    else clearError("timeline-problems");
  } catch (err) {
    if (isAbort(err) || gen !== runGen) return;
    applyTimeline(null);
    reportError("timeline", "Timeline", err);
  }
}

/** Shows a run: units, coverage, summary and timeline in parallel, then the first frame. */
async function selectRun(name) {
  setPlaying(false, { catchUp: false });
  clearTimeout(play.debounce);
  runAbort.abort();
  runAbort = new AbortController();
  runGen += 1;
  const gen = runGen;
  Object.assign(play, { inFlight: false, wanted: null, frameT: null, timeline: null });
  status.ready = false;
  status.run = name || null;
  for (const key of ["units", "coverage", "summary", "timeline", "frame", "track"]) clearError(key);
  closeTrack();
  clearFrameLayers();
  groups.units.clearLayers();
  resetCoverage(null);
  applyTimeline(null);
  writeRunToHash(name);
  const select = $("#run-select");
  if (name && select.value !== name) select.value = name;
  updateCounts();
  if (!name) {
    renderRunSummary(null, null);
    status.ready = true;
    return;
  }
  const entry = runs.find((r) => r.name === name);
  const layers = entry?.layers ?? [];
  const pending = [
    loadSummary(name, gen, entry),
    loadUnits(name, gen, !entry || layers.includes("units")),
  ];
  await loadTimeline(name, gen);
  if (gen !== runGen) return;
  pending.push(loadCoverage(name, gen));
  if (play.timeline && frameLayersExist()) await fetchFrame(play.timeline.start_s);
  await Promise.allSettled(pending);
  if (gen !== runGen) return;
  status.ready = true;
}

async function refreshRuns({ selectIfNone = false } = {}) {
  let list;
  try {
    list = await api("api/runs");
    clearError("runs");
  } catch (err) {
    reportError("runs", "Runs", err);
    if (!runs.length) $("#run-select").replaceChildren(el("option", { value: "" }, "runs unavailable"));
    return false;
  }
  runs = Array.isArray(list) ? list : [];
  const select = $("#run-select");
  const current = status.run;
  select.replaceChildren(...runs.map((r) => el("option", { value: r.name },
    r.error ? `${r.name} (unreadable)` : `${r.scenario ?? r.name} — ${r.name}`)));
  select.disabled = !runs.length;
  $("#no-runs").hidden = runs.length > 0;
  if (!runs.length) select.append(el("option", { value: "" }, "no runs"));
  if (current && runs.some((r) => r.name === current)) select.value = current;
  else if (selectIfNone && runs.length && !current) await selectRun(runs[0].name);
  return true;
}

// Scenarios and jobs -------------------------------------------------------------------------

let scenarios = [];
let jobsAvailable = true;
const polling = new Set();

const scenarioName = (id) => scenarios.find((s) => s.id === id)?.name ?? id;

async function loadScenarios() {
  const list = $("#scenario-list");
  try {
    const data = await api("api/scenarios");
    scenarios = Array.isArray(data) ? data : [];
    clearError("scenarios");
  } catch (err) {
    reportError("scenarios", "Scenarios", err);
    list.replaceChildren(el("li", { class: "note" }, "The scenarios could not be listed."));
    return;
  }
  if (!scenarios.length) {
    list.replaceChildren(el("li", { class: "note" }, "No scenarios."));
    return;
  }
  list.replaceChildren(...scenarios.map((s) => el("li", { dataset: { scenarioId: s.id } },
    el("span", { class: "sc-name" }, s.name ?? s.id, s.source && s.source !== "bundled" ? el("span", { class: "sc-source" }, s.source) : null),
    el("button", {
      type: "button",
      dataset: { scenario: s.id, ...(s.error ? { unreadable: "" } : {}) },
      title: s.error ? "This file cannot be read as a scenario" : `Run “${s.name ?? s.id}” on the server`,
      disabled: !jobsAvailable || Boolean(s.error),
      onclick: (e) => startJob(s.id, e.currentTarget),
    }, "Run"),
    s.error ? el("span", { class: "sc-error" }, s.error) : null,
    s.description ? el("span", { class: "sc-desc", title: s.description }, s.description) : null)));
}

function renderJob(job) {
  const list = $("#jobs");
  let li = list.querySelector(`li[data-job-id="${CSS.escape(String(job.id))}"]`);
  if (!li) {
    li = el("li", { dataset: { jobId: job.id } });
    list.prepend(li);
  }
  const active = job.state === "queued" || job.state === "running";
  const progress = el("progress", { max: "1", "aria-label": "Progress" });
  if (isNum(job.fraction)) progress.value = Math.min(1, Math.max(0, job.fraction));
  else if (job.state === "done") progress.value = 1;
  else if (!active) progress.value = 0;
  // Without a value a <progress> is indeterminate, which is right for a job whose size is unknown.
  const counts = isNum(job.done) && isNum(job.total) && job.total > 0 ? `${job.done}/${job.total}` : null;
  const elapsed = isNum(job.elapsed_s) ? formatDuration(job.elapsed_s) : null;
  const detail = [job.phase && job.phase !== job.state ? humanKind(job.phase) : null, counts, elapsed, job.message || null]
    .filter(Boolean).join(" · ");
  const actions = el("div", { class: "job-actions" },
    active ? el("button", { type: "button", onclick: () => cancelJob(job.id) }, "Cancel") : null,
    job.state === "done" && job.run
      ? el("button", { type: "button", dataset: { openRun: job.run }, onclick: () => openRunFromJob(job.run) }, "Open run")
      : null);
  li.replaceChildren(
    el("div", { class: "job-head" },
      el("span", { class: "job-scenario" }, scenarioName(job.scenario)),
      el("span", { class: "job-state", dataset: { state: job.state } }, job.state)),
    progress,
    detail ? el("div", { class: "job-detail" }, detail) : null,
    actions.childElementCount ? actions : null);
  if (jobsAvailable) $("#jobs-note").hidden = list.childElementCount > 0;
}

async function openRunFromJob(run) {
  if (!runs.some((r) => r.name === run)) await refreshRuns();
  if (!runs.some((r) => r.name === run)) {
    showError("jobs", `The run ${run} is not in the served folder.`);
    return;
  }
  await selectRun(run);
}

async function startJob(scenarioId, button) {
  const body = {
    scenario: scenarioId,
    arrangement: $("#job-arrangement").value || null,
    coverage: $("#job-coverage").checked,
  };
  if (button) button.disabled = true;
  try {
    const job = await api("api/jobs", { method: "POST", body });
    clearError("jobs");
    renderJob(job);
    pollJob(job);
  } catch (err) {
    reportError("jobs", `Could not start ${scenarioName(scenarioId)}`, err);
    if (err.status === 403) setJobsUnavailable(err.message);
  } finally {
    if (button) button.disabled = !jobsAvailable;
  }
}

async function cancelJob(id) {
  try {
    const job = await api(`api/jobs/${enc(id)}`, { method: "DELETE" });
    if (job && typeof job === "object" && job.id !== undefined) renderJob(job);
    clearError("jobs");
  } catch (err) {
    reportError("jobs", `Could not cancel job ${id}`, err);
  }
}

/** Polls a job every second while it is queued or running; refreshes the runs when it ends. */
function pollJob(job) {
  const id = String(job.id);
  if (polling.has(id) || !(job.state === "queued" || job.state === "running")) return;
  polling.add(id);
  const step = async () => {
    let latest;
    try {
      latest = await api(`api/jobs/${enc(id)}`);
      clearError(`job-${id}`);
    } catch (err) {
      if (err.status === 404) {
        polling.delete(id);
        showError(`job-${id}`, `Job ${id} is gone from the server.`);
        return;
      }
      reportError(`job-${id}`, `Job ${id}`, err);
      setTimeout(step, JOB_POLL_MS * 3);
      return;
    }
    renderJob(latest);
    if (latest.state === "queued" || latest.state === "running") {
      setTimeout(step, JOB_POLL_MS);
      return;
    }
    polling.delete(id);
    if (latest.state === "done") await refreshRuns({ selectIfNone: true });
  };
  setTimeout(step, JOB_POLL_MS);
}

/** The server refuses to start runs (e.g. started with --no-jobs): say so, disable Run. */
function setJobsUnavailable(message) {
  jobsAvailable = false;
  const note = $("#jobs-note");
  note.textContent = message;
  note.hidden = false;
  for (const b of document.querySelectorAll("button[data-scenario]")) b.disabled = true;
}

async function loadJobs() {
  try {
    const list = await api("api/jobs");
    jobsAvailable = true;
    clearError("jobs");
    const info = await api("api/info");
    if (info && info.jobs === false) {
      setJobsUnavailable("This server was started with --no-jobs: runs cannot be started from the page.");
    }
    // Oldest first, so prepending leaves the newest on top.
    for (const job of (Array.isArray(list) ? list : []).slice().reverse()) {
      renderJob(job);
      pollJob(job);
    }
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      setJobsUnavailable("This server does not run scenarios.");
    } else {
      reportError("jobs", "Jobs", err);
      const note = $("#jobs-note");
      note.textContent = "The jobs could not be listed.";
      note.hidden = false;
    }
  }
}

// Start-up ----------------------------------------------------------------------------------

function initControls() {
  $("#run-select").addEventListener("change", (e) => {
    clearError("run-link");
    if (e.target.value) selectRun(e.target.value);
  });
  const toggles = {
    "#layer-units": groups.units,
    "#layer-coverage": groups.coverage,
    "#layer-truth": groups.truth,
    "#layer-interceptors": groups.interceptors,
    "#layer-engagements": groups.engagements,
  };
  for (const [sel, group] of Object.entries(toggles)) {
    const box = $(sel);
    const apply = () => {
      if (box.checked) group.addTo(map);
      else map.removeLayer(group);
      updateCounts();
    };
    box.addEventListener("change", apply);
    apply();
  }
  $("#layer-coverage").addEventListener("change", () => {
    if (coverageState.data) drawCoverage();
  });
  $("#coverage-altitude").addEventListener("change", drawCoverage);
  $("#coverage-date").addEventListener("change", (e) => {
    if (status.run && e.target.value) loadCoverage(status.run, runGen, e.target.value);
  });
  $("#coverage-quantity").addEventListener("change", drawCoverage);
  $("#track-close").addEventListener("click", closeTrack);
  for (const button of document.querySelectorAll("[data-scroll-to]")) {
    button.addEventListener("click", () => document.getElementById(button.dataset.scrollTo)?.scrollIntoView({ behavior: "smooth" }));
  }
  // Someone editing the fragment by hand (#run=…) switches runs.
  window.addEventListener("hashchange", () => {
    const params = hashParams();
    if (params.get("token")) {
      // A new token: store it, drop it from the URL and start over with it.
      initToken();
      location.reload();
      return;
    }
    const wanted = params.get("run");
    if (wanted && wanted !== status.run) {
      if (runs.some((r) => r.name === wanted)) selectRun(wanted);
      else showError("run-link", `There is no run ${wanted} in the served folder.`);
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("#track-panel").hidden) closeTrack();
  });
  window.addEventListener("resize", fitTrackPanel);
}

async function start() {
  initToken();
  initMap();
  initFrameLayers();
  initControls();
  initTimeBar();
  renderEventLog(0);
  loadBasemap();
  const scenariosDone = loadScenarios().then(loadJobs);
  const wanted = hashParams().get("run");
  if (await refreshRuns()) {
    const found = runs.some((r) => r.name === wanted);
    // A link to a run that is gone (renamed, deleted) says so, and the first run is shown instead.
    if (wanted && !found) {
      showError("run-link", `There is no run ${wanted} in the served folder` +
        (runs.length ? `; showing ${runs[0].name} instead.` : "."));
    }
    await selectRun(found ? wanted : runs[0]?.name ?? null);
  } else {
    status.ready = true;
  }
  await scenariosDone;
}

// Nothing may escape as an unhandled error: show it in the banner instead.
window.addEventListener("unhandledrejection", (e) => {
  if (isAbort(e.reason)) {
    e.preventDefault();
    return;
  }
  showError("page", `Unexpected error: ${e.reason?.message ?? e.reason}`);
});

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
