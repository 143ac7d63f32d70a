"""A self-contained HTML report for CS managers: opens from disk, loads nothing from the network.

The page carries its data as JSON inside a script tag (``</`` escaped so no text can close the tag) and
draws the tables with vanilla JavaScript through ``textContent``, so account names and reasons are never
parsed as HTML. Sections: tier counts and ARR per tier and segment, the accounts (sortable by any
column, filterable by text, tier and segment) and the accounts that changed tier. Each account's reasons,
protective factors and context share one cell, so the list fits a laptop's screen without scrolling sideways.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import pandas as pd

from models.risk_list import RiskList
from models.tiers import TIERS, describe_rule

TABLE_COLUMNS = (
    ("rank", "Rank", "num"),
    ("account_name", "Account", "text"),
    ("segment", "Segment", "segment"),
    ("owner", "Owner", "text"),
    ("arr", "ARR", "money"),
    ("days_to_renewal", "Days to renewal", "num"),
    ("churn_probability", "Churn probability", "pct"),
    ("tier", "Tier", "tier_moved"),  # the tier, and the previous one under it when it changed
    ("arr_at_risk", "ARR at risk", "money"),
    ("probability_change", "Change", "delta"),
    ("why", "Why: reasons, protective factor, account context", "why"),
)
CHANGE_COLUMNS = (
    ("account_name", "Account", "text"),
    ("segment", "Segment", "segment"),
    ("owner", "Owner", "text"),
    ("arr", "ARR", "money"),
    ("previous_tier", "From", "tier"),
    ("tier", "To", "tier"),
    ("previous_probability", "Was", "pct"),
    ("churn_probability", "Now", "pct"),
    ("drivers", "What drove the move", "drivers"),
)


def summary(accounts: pd.DataFrame) -> list[dict[str, Any]]:
    """Accounts and ARR per tier and segment, plus an 'all segments' row per tier."""
    rows = []
    grouped = accounts.groupby(["tier", "segment"], sort=False, dropna=False)
    agg = grouped.agg(accounts=("account_id", "size"), arr=("arr", "sum"), arr_at_risk=("arr_at_risk", "sum"))
    segments = sorted(accounts["segment"].dropna().unique())
    for tier in TIERS:
        for segment in [*segments, None]:
            if segment is None:
                part = accounts[accounts["tier"] == tier]
                n, arr, risk = len(part), part["arr"].sum(), part["arr_at_risk"].sum()
            elif (tier, segment) in agg.index:
                n, arr, risk = agg.loc[(tier, segment)]
            else:
                n, arr, risk = 0, 0.0, 0.0
            rows.append(
                {"tier": tier, "segment": segment or "all segments", "accounts": int(n), "arr": _num(arr)}
                | {"arr_at_risk": _num(risk)}
            )
    return rows


def _joined(frame: pd.DataFrame, prefix: str) -> list[list[str]]:
    columns = [c for c in frame.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
    values = frame[columns].to_numpy(dtype=object) if columns else [[] for _ in range(len(frame))]
    return [[v for v in row if isinstance(v, str) and v] for row in values]


def _records(frame: pd.DataFrame, columns: tuple) -> list[dict[str, Any]]:
    """One dict per row: the columns shown, plus account_id (the filter searches it, the account's cell
    shows it on hover) and previous_tier (a changed tier shows it)."""
    keys = [key for key, _, _ in columns if key in frame.columns]
    keys += [k for k in ("account_id", "previous_tier") if k in frame.columns and k not in keys]
    out = []
    for row in frame[keys].to_dict("records"):
        out.append({k: _num(v) if isinstance(v, float) else (None if _na(v) else v) for k, v in row.items()})
    return out


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# A 'why' cell's parts: key in the page's data (the cell draws "reasons" as a list, the others as
# "Protective: ..." and "Context: ..." lines), the table's column prefix, words in the heading.
WHY_PARTS = (
    ("reasons", "reason_", "reasons"),
    ("protective", "protective_", "protective factor"),
    ("context", "context_", "account context"),
)
DRIVER_PARTS = (
    ("reasons", "driver_", "What drove the move"),
    ("context", "context_driver_", "account context"),
)


def why_cells(
    frame: pd.DataFrame, parts: tuple = WHY_PARTS, lead: str = "Why: "
) -> tuple[str, list[dict[str, list[str]]]]:
    """A 'why' column's heading, naming only the parts the table has (``score.n_context: 0``: no
    context), and each row's texts by part."""
    label = lead + ", ".join(words for _, prefix, words in parts if f"{prefix}1" in frame.columns)
    texts = {key: _joined(frame, prefix) for key, prefix, _ in parts}
    return label, [dict(zip(texts, row, strict=True)) for row in zip(*texts.values(), strict=True)]


def page_data(risk: RiskList, max_rows: int) -> dict[str, Any]:
    shown = risk.accounts.head(max_rows)
    why_label, why = why_cells(shown)
    shown = shown.assign(why=why)
    shown["days_to_renewal"] = shown["days_to_renewal"].astype("float64")
    drivers_label, drivers = why_cells(risk.changes, DRIVER_PARTS, lead="")
    changes = risk.changes.assign(drivers=drivers)
    return {
        "date": risk.observation_date.strftime("%Y-%m-%d"),
        "previous": risk.previous_date.strftime("%Y-%m-%d") if risk.previous_date is not None else None,
        "n_accounts": len(risk.accounts),
        "rule": describe_rule(risk.rule) if risk.rule is not None else "",
        "n_shown": len(shown),
        "summary": summary(risk.accounts),
        "columns": [[key, why_label if key == "why" else label, kind] for key, label, kind in TABLE_COLUMNS],
        "rows": _records(shown, TABLE_COLUMNS),
        "change_columns": [
            [key, drivers_label if key == "drivers" and drivers_label else label, kind]
            for key, label, kind in CHANGE_COLUMNS
        ],
        "changes": _records(changes, CHANGE_COLUMNS),
    }


def render_report(risk: RiskList, max_rows: int = 5000, model_name: str = "") -> str:
    """The whole page as one string; the riskiest ``max_rows`` accounts are listed, counts cover all."""
    data = json.dumps(page_data(risk, max_rows), ensure_ascii=False, allow_nan=False)
    data = data.replace("</", "<\\/").replace("<!--", "<\\!--")
    title = f"Churn risk list — {risk.observation_date.strftime('%Y-%m-%d')}"
    return (
        TEMPLATE.replace("__TITLE__", html.escape(title))
        .replace("__MODEL__", html.escape(model_name))
        .replace("__PARTS_NOTE__", "".join(note for prefix, note in PART_NOTES if prefix in risk.accounts))
        .replace("__DATA__", data)
    )


# The note's sentence on each part of the 'why' cell the list has (score.n_protective, score.n_context).
PART_NOTES = (
    ("protective_1", "; the protective factor lowered it most"),
    (
        "context_1",
        "; the account context is the fact about the account or its contract (segment, ARR, days to"
        " renewal) that raised it most",
    ),
)
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font: 14px/1.4 system-ui, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1f2933; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
  .meta { color: #52606d; margin-bottom: 16px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { border-radius: 8px; padding: 10px 16px; min-width: 170px; color: #fff; }
  .card b { display: block; font-size: 22px; }
  .card.red { background: #c62828; } .card.yellow { background: #b7791f; }
  .card.green { background: #2f855a; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: 5px 8px; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
  th { background: #f5f7fa; position: sticky; top: 0; }
  #accounts th { cursor: pointer; user-select: none; }  /* headers wrap: the reasons need the width */
  #accounts th[aria-sort="ascending"]::after { content: " ▲"; }
  #accounts th[aria-sort="descending"]::after { content: " ▼"; }
  th.num { text-align: right; } td ul { min-width: 260px; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .tier { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
  .tier.red { background: #fde8e8; color: #9b1c1c; } .tier.yellow { background: #fdf6b2; color: #8e4b10; }
  .tier.green { background: #def7ec; color: #03543f; }
  ul { margin: 0; padding-left: 16px; } .up { color: #c62828; } .down { color: #2f855a; }
  td.text { overflow-wrap: anywhere; min-width: 5em; }  /* a name with a 40-letter word still wraps */
  .was { color: #52606d; font-size: 12px; white-space: nowrap; }
  td.why { min-width: 320px; } .why .protective { color: #2f855a; }
  .why .context, .why .none { color: #52606d; }
  .controls { display: flex; gap: 8px; margin: 8px 0; align-items: center; flex-wrap: wrap; }
  input, select { font: inherit; padding: 4px 8px; }
  .scroll { max-height: 70vh; overflow: auto; border: 1px solid #e4e7eb; }
  .note { color: #52606d; font-size: 12px; }
  @media (max-width: 1280px) {  /* a laptop's window beside another: the reasons give up some width */
    th, td { padding: 5px 5px; } td.why { min-width: 220px; } td ul { min-width: 180px; }
  }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div class="meta" id="meta"></div>
<div class="cards" id="cards"></div>
<h2>Tiers by segment</h2>
<table id="summary"><thead><tr><th>Tier</th><th>Segment</th><th class="num">Accounts</th>
<th class="num">ARR</th><th class="num">ARR at risk</th></tr></thead><tbody></tbody></table>
<h2>Accounts</h2>
<div class="controls">
  <input id="filter" type="search" placeholder="Filter: name, id, owner, reason…" size="32"
         aria-label="Filter">
  <select id="tier-filter" aria-label="Tier"><option value="">All tiers</option></select>
  <select id="segment-filter" aria-label="Segment"><option value="">All segments</option></select>
  <span id="count" class="note"></span>
</div>
<div class="scroll"><table id="accounts"><thead><tr></tr></thead><tbody></tbody></table></div>
<h2>Accounts that changed tier</h2>
<div class="scroll"><table id="changes"><thead><tr></tr></thead><tbody></tbody></table></div>
<p class="note">Model: __MODEL__. Reasons are the usage features that raised the account's score most
(TreeSHAP)__PARTS_NOTE__. "Usual" is the middle half of active
accounts at this date, and "lower than 70% of accounts" places a value inside it. A reason says why the model
scored the account so, not what caused the risk. Change is against the previous scoring.</p>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
// a move that no behaviour explains on its own (see models.reasons.driver_columns)
const NO_DRIVER = "No single behaviour stood out: the account's facts and usage together moved the score.";
const money = new Intl.NumberFormat("en-US", {maximumFractionDigits: 0});
const SEGMENTS = {enterprise: "Enterprise", mid_market: "Mid-market", smb: "SMB"};
function segmentLabel(value) { return value ? SEGMENTS[value] || value : value; }
// column kinds (the third of each DATA.columns entry): the reason lists, and the kinds headed like text
const REASON_KINDS = new Set(["why", "drivers"]);
const TEXT_KINDS = new Set(["text", "segment", "tier", "tier_moved", ...REASON_KINDS]);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function cell(value, kind, row) {
  if (REASON_KINDS.has(kind)) {
    const td = el("td", null, "why"), ul = el("ul"), why = value || {};
    (why.reasons || []).forEach(v => ul.appendChild(el("li", v)));
    td.appendChild(ul);
    if (kind === "drivers" && !(why.reasons || []).length) td.appendChild(el("div", NO_DRIVER, "none"));
    (why.protective || []).forEach(v => td.appendChild(el("div", "Protective: " + v, "protective")));
    (why.context || []).forEach(v => td.appendChild(el("div", "Context: " + v, "context")));
    return td;
  }
  if (kind === "segment") return el("td", segmentLabel(value));
  if (kind === "tier" || kind === "tier_moved") {
    const td = el("td"); if (value) td.appendChild(el("span", value, "tier " + value));
    if (kind === "tier_moved" && row.previous_tier && row.previous_tier !== value)
      td.appendChild(el("div", "was " + row.previous_tier, "was"));
    return td;
  }
  if (value === null || value === undefined) {  // a change from nothing: an account new since then
    const isNew = kind === "delta" && DATA.previous && row && !row.previous_tier;
    return el("td", isNew ? "new" : "", "num");
  }
  if (kind === "money") return el("td", money.format(value), "num");
  if (kind === "pct") return el("td", (value * 100).toFixed(1) + "%", "num");
  if (kind === "delta") {
    const pts = value * 100;
    return el("td", (pts > 0 ? "+" : pts < 0 ? "−" : "") + Math.abs(pts).toFixed(1) + " pts",
              "num " + (pts > 0.05 ? "up" : pts < -0.05 ? "down" : ""));
  }
  if (kind === "num") return el("td", String(value), "num");
  return el("td", value, "text");
}
function header(table, columns, sortable) {
  const tr = table.querySelector("thead tr");
  columns.forEach(([key, label, kind], i) => {
    const th = el("th", label, TEXT_KINDS.has(kind) ? "" : "num");
    th.dataset.key = key;
    if (sortable && !REASON_KINDS.has(kind)) th.addEventListener("click", () => sortBy(i));
    tr.appendChild(th);
  });
}
function body(table, columns, rows) {
  const tbody = el("tbody");
  rows.forEach(r => {
    const tr = el("tr");
    columns.forEach(([key, , kind]) => {
      const td = tr.appendChild(cell(r[key], kind, r));
      if (key === "account_name" && r.account_id) td.title = r.account_id;
    });
    tbody.appendChild(tr);
  });
  table.replaceChild(tbody, table.querySelector("tbody"));
}
const TIER_RANK = {red: 0, yellow: 1, green: 2};
let sortState = {index: null, dir: 1};
function compare(a, b, kind) {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  if (kind === "tier" || kind === "tier_moved") return TIER_RANK[a] - TIER_RANK[b];
  if (typeof a === "number") return a - b;
  return String(a).localeCompare(String(b));
}
function sortBy(i) {
  sortState = {index: i, dir: sortState.index === i ? -sortState.dir : 1};
  render();
}
function render() {
  const text = document.getElementById("filter").value.trim().toLowerCase();
  const tier = document.getElementById("tier-filter").value;
  const segment = document.getElementById("segment-filter").value;
  let rows = DATA.rows.filter(r =>
    (!tier || r.tier === tier) && (!segment || r.segment === segment) &&
    (!text || [r.account_id, r.account_name, r.owner, r.segment, segmentLabel(r.segment), r.tier,
               ...Object.values(r.why || {}).flat()]
      .some(v => v && String(v).toLowerCase().includes(text))));
  if (sortState.index !== null) {
    const [key, , kind] = DATA.columns[sortState.index];
    rows = rows.slice().sort((a, b) => {
      const nullA = a[key] === null || a[key] === undefined, nullB = b[key] === null || b[key] === undefined;
      if (nullA || nullB) return nullA - nullB;  // missing values last either way
      return sortState.dir * compare(a[key], b[key], kind) || a.rank - b.rank;
    });
  }
  const table = document.getElementById("accounts");
  table.querySelectorAll("th").forEach((th, i) => {
    if (i === sortState.index) th.setAttribute("aria-sort", sortState.dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  });
  body(table, DATA.columns, rows);
  document.getElementById("count").textContent = rows.length + " of " + DATA.n_shown + " accounts shown" +
    (DATA.n_shown < DATA.n_accounts ? " (the riskiest " + DATA.n_shown + " of " + DATA.n_accounts + ")" : "");
}
function start() {
  document.getElementById("meta").textContent = "Scored " + DATA.n_accounts + " active accounts at " +
    DATA.date + (DATA.previous ? "; changes since " + DATA.previous : "; no previous scoring") + ". " +
    DATA.rule;
  const cards = document.getElementById("cards");
  DATA.summary.filter(s => s.segment === "all segments").forEach(s => {
    const c = el("div", null, "card " + s.tier);
    c.appendChild(el("b", s.accounts + " " + s.tier));
    const arr = money.format(s.arr || 0), atRisk = money.format(s.arr_at_risk || 0);
    c.appendChild(el("span", "ARR " + arr + " · at risk " + atRisk));
    cards.appendChild(c);
  });
  const sumBody = document.querySelector("#summary tbody");
  DATA.summary.forEach(s => {
    const tr = el("tr");
    [cell(s.tier, "tier"), cell(s.segment, "segment"), cell(s.accounts, "num"), cell(s.arr, "money"),
     cell(s.arr_at_risk, "money")].forEach(td => tr.appendChild(td));
    sumBody.appendChild(tr);
  });
  const tiers = document.getElementById("tier-filter"), segments = document.getElementById("segment-filter");
  ["red", "yellow", "green"].forEach(t => { const o = el("option", t); o.value = t; tiers.appendChild(o); });
  [...new Set(DATA.rows.map(r => r.segment).filter(Boolean))].sort().forEach(s => {
    const o = el("option", segmentLabel(s)); o.value = s; segments.appendChild(o);
  });
  ["filter", "tier-filter", "segment-filter"].forEach(id =>
    document.getElementById(id).addEventListener("input", render));
  header(document.getElementById("accounts"), DATA.columns, true);
  header(document.getElementById("changes"), DATA.change_columns, false);
  body(document.getElementById("changes"), DATA.change_columns, DATA.changes);
  render();
}
start();
</script>
</body>
</html>
"""
