// neurite UI: hash-routed pages over the server's JSON API. No framework, no build step.
'use strict';

const app = document.getElementById('app');
let config = { title: 'neurite', auth_required: false, charts: [] };
let liveSource = null;

// ---------- helpers ----------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function svgNode(svg) {
  // SVG produced by the server's chart module (text escaped there).
  const box = el('div', { class: 'chart-box' });
  box.innerHTML = svg;
  return box;
}
function fmt(v) {
  if (typeof v === 'number') return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Math.round(v * 10000) / 10000);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function apiKey() { return sessionStorage.getItem('neurite-api-key') || ''; }
function authHeaders() { const k = apiKey(); return k ? { Authorization: 'Bearer ' + k } : {}; }
async function getJSON(url) {
  const r = await fetch(url, { headers: authHeaders() });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || body.message || (r.status + ' ' + r.statusText));
  return body;
}
async function post(url, body, contentType) {
  let r = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType, ...authHeaders() }, body });
  if (r.status === 401) {
    if (await askKey()) r = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType, ...authHeaders() }, body });
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const where = [data.row !== undefined ? 'row ' + data.row : null, data.field ? 'field "' + data.field + '"' : null].filter(Boolean).join(', ');
    throw new Error((data.error || data.message || r.statusText) + (where && !(data.error || data.message || '').includes('row') ? ' (' + where + ')' : ''));
  }
  return data;
}
function errorBox(e) { return el('div', { class: 'error', role: 'alert' }, String(e.message || e)); }
function setPage(title, ...nodes) {
  app.replaceChildren(el('h1', {}, title), ...nodes.filter(n => n !== null && n !== undefined));
}
function table(headers, rows, opts) {
  const t = el('table', opts || {});
  t.append(el('thead', {}, el('tr', {}, headers.map(h => el('th', {}, h)))));
  const tb = el('tbody');
  for (const r of rows) tb.append(el('tr', {}, r.map(c => c instanceof Node ? el('td', {}, c) : el('td', { class: typeof c === 'number' ? 'num' : null }, fmt(c)))));
  t.append(tb);
  return t;
}
function metricsTable(metrics) {
  if (!metrics || !Object.keys(metrics).length) return el('p', { class: 'note' }, 'not available: no metrics in the manifest');
  const splits = Object.keys(metrics);
  // Scalars only: the confusion matrix and per-class tables have charts of their own.
  const names = [...new Set(splits.flatMap(s => Object.entries(metrics[s] || {}).filter(([, v]) => typeof v === 'number').map(([k]) => k)))].sort();
  return table(['metric', ...splits], names.map(n => [n, ...splits.map(s => (metrics[s] || {})[n])]), { class: 'metrics' });
}
function schemaTable(schema) {
  if (!schema) return el('p', { class: 'muted' }, 'schema not loaded');
  return table(['field', 'type', 'required', 'categories'], schema.map(f => [f.name, f.type, f.required ? 'yes' : 'no', (f.categories || []).join(', ')]));
}
function askKey() {
  return new Promise(resolve => {
    const d = document.getElementById('key-dialog');
    const input = document.getElementById('key-input');
    input.value = apiKey();
    const done = ok => { d.close(); resolve(ok); };
    document.getElementById('key-cancel').onclick = () => done(false);
    document.getElementById('key-form').onsubmit = ev => { ev.preventDefault(); sessionStorage.setItem('neurite-api-key', input.value.trim()); done(true); };
    d.showModal();
  });
}

// ---------- pages ----------
async function pageModels() {
  const data = await getJSON('/api/models');
  if (!data.models.length) {
    setPage('Models', el('p', { class: 'note' }, 'No models are served. Train one with `neurite train data.csv --target y`; the server picks it up within a second.'));
    return;
  }
  const cards = data.models.map(m => {
    const latest = m.versions.find(v => v.version === m.default_version) || m.versions[0] || {};
    const aliasTags = Object.entries(m.aliases || {}).map(([a, v]) => el('span', { class: 'tag' }, a + ' → v' + v));
    const outputs = m.outputs ? (m.outputs.task === 'classification' ? 'classes: ' + m.outputs.classes.join(', ') : 'targets: ' + m.outputs.targets.join(', ')) : '';
    return el('section', { class: 'card model', 'data-model': m.name },
      el('div', { class: 'row' }, el('h2', {}, m.name), el('span', { class: 'tag' }, 'default v' + m.default_version), m.pin ? el('span', { class: 'tag' }, 'pinned: ' + m.pin) : null, ...aliasTags),
      el('p', { class: 'muted' }, (m.outputs ? m.outputs.task + ' · ' : '') + outputs),
      el('div', { class: 'row' },
        el('a', { href: '#/predict/' + encodeURIComponent(m.name) }, 'Predict'), ' · ',
        el('a', { href: '#/dashboard/' + encodeURIComponent(m.name) + '/' + m.default_version }, 'Dashboard'), ' · ',
        el('span', { class: 'muted' }, `served: ${m.serving.requests} requests, ${m.serving.errors} errors, ${m.serving.rows} rows`)),
      el('h3', {}, 'Versions'),
      table(['version', 'created', 'test metrics', 'epochs', 'served', ''], m.versions.map(v => [
        'v' + v.version, v.created || '', Object.entries((v.metrics || {}).test || {}).filter(([k]) => !k.includes('_')).map(([k, x]) => k + ' ' + fmt(x)).join(', '),
        v.training ? v.training.epochs_run : '', v.served ? 'yes' : 'no',
        el('a', { href: '#/dashboard/' + encodeURIComponent(m.name) + '/' + v.version }, 'dashboard')])),
      el('h3', {}, 'Metrics of v' + (latest.version || '')), metricsTable(latest.metrics),
      el('h3', {}, 'Input schema'), schemaTable(m.schema));
  });
  setPage('Models', ...cards);
}

function fieldInput(f) {
  const name = f.name;
  let input;
  if (f.type === 'boolean') input = el('select', { name }, el('option', { value: 'true' }, 'true'), el('option', { value: 'false' }, 'false'));
  else if (f.type === 'categorical') {
    const id = 'cats-' + name;
    input = el('input', { name, list: id, required: f.required });
    return el('label', {}, name, el('small', {}, 'category'), input, el('datalist', { id }, (f.categories || []).map(c => el('option', { value: c }))));
  } else if (f.type === 'datetime') input = el('input', { name, type: 'text', placeholder: '2024-01-31T12:00:00', required: f.required });
  else input = el('input', { name, type: 'number', step: f.type === 'integer' ? '1' : 'any', required: f.required });
  return el('label', {}, name, el('small', {}, f.type + (f.required ? '' : ' (optional)')), input);
}

function predictionsTable(preds, inputs) {
  if (!preds.length) return el('p', {}, 'no rows');
  const first = preds[0];
  if (first.probabilities) {
    const classes = Object.keys(first.probabilities);
    return table(['row', 'label', ...classes.map(c => 'P(' + c + ')')], preds.map((p, i) => [i, p.label, ...classes.map(c => p.probabilities[c])]), { class: 'predictions' });
  }
  const targets = Object.keys(first);
  return table(['row', ...targets], preds.map((p, i) => [i, ...targets.map(t => p[t])]), { class: 'predictions' });
}

function csvOf(preds) {
  const q = s => /[",\n]/.test(String(s)) ? '"' + String(s).replace(/"/g, '""') + '"' : String(s);
  if (!preds.length) return '';
  if (preds[0].probabilities) {
    const classes = Object.keys(preds[0].probabilities);
    return ['label,' + classes.map(c => q('proba_' + c)).join(','), ...preds.map(p => q(p.label) + ',' + classes.map(c => p.probabilities[c]).join(','))].join('\n') + '\n';
  }
  const t = Object.keys(preds[0]);
  return [t.map(q).join(','), ...preds.map(p => t.map(k => p[k]).join(','))].join('\n') + '\n';
}

async function pagePredict(name, version) {
  const data = await getJSON('/api/models');
  if (!data.models.length) { setPage('Predict', el('p', { class: 'note' }, 'No models are served.')); return; }
  const model = data.models.find(m => m.name === name) || data.models[0];
  const v = version ? Number(version) : model.default_version;
  const picker = el('select', { id: 'model-select', onchange: ev => { location.hash = '#/predict/' + encodeURIComponent(ev.target.value); } },
    data.models.map(m => el('option', { value: m.name, selected: m.name === model.name }, m.name)));
  const vpicker = el('select', { id: 'version-select', onchange: ev => { location.hash = '#/predict/' + encodeURIComponent(model.name) + '/' + ev.target.value; } },
    model.versions.filter(x => x.served).map(x => el('option', { value: x.version, selected: x.version === v }, 'v' + x.version)));
  const schema = model.schema || [];
  const result = el('div', { id: 'single-result' });
  const form = el('form', { class: 'predict', id: 'predict-form' }, schema.map(fieldInput), el('div', {}, el('button', { type: 'submit' }, 'Predict')));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const row = {};
    for (const f of schema) {
      const raw = form.elements[f.name].value;
      if (raw === '') { if (f.required) { result.replaceChildren(errorBox(new Error('field "' + f.name + '" is required'))); return; } continue; }
      row[f.name] = f.type === 'number' || f.type === 'integer' ? Number(raw) : f.type === 'boolean' ? raw === 'true' : raw;
    }
    try {
      const r = await post(`/v1/models/${encodeURIComponent(model.name)}/versions/${v}:predict`, JSON.stringify({ instances: [row] }), 'application/json');
      const p = r.predictions[0];
      let body;
      if (p.probabilities) {
        body = el('div', {}, el('p', {}, 'Label: ', el('strong', { id: 'single-label' }, p.label)),
          table(['class', 'probability', ''], Object.entries(p.probabilities).map(([c, x]) => [c, x, el('span', { class: 'bar w' + Math.round(x * 20) })])));
      } else {
        body = table(['target', 'value'], Object.entries(p).map(([t, x]) => [t, x]));
      }
      result.replaceChildren(el('p', { class: 'muted' }, `${r.model_name} v${r.model_version}`), body);
    } catch (e) { result.replaceChildren(errorBox(e)); }
  });

  const fileInput = el('input', { type: 'file', id: 'csv-file', accept: '.csv,text/csv' });
  const batch = el('div', { id: 'batch-result' });
  const runCsv = async () => {
    const file = fileInput.files[0];
    if (!file) return;
    const text = await file.text();
    batch.replaceChildren(el('p', { class: 'muted' }, 'Predicting…'));
    try {
      const r = await post(`/invocations?model=${encodeURIComponent(model.name)}%40${v}&extra_fields=ignore`, text, 'text/csv');
      const csv = csvOf(r.predictions);
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      const unknown = r.unknown_categories ? el('p', { class: 'muted' }, 'unknown categories: ' + JSON.stringify(r.unknown_categories)) : null;
      batch.replaceChildren(
        el('div', { class: 'row' }, el('strong', { id: 'batch-count' }, r.predictions.length + ' predictions'), el('span', { class: 'muted' }, `${r.model_name} v${r.model_version}`),
          el('a', { href: url, download: model.name + '-predictions.csv', id: 'csv-download' }, 'Download CSV')),
        ...[unknown].filter(Boolean), el('div', { class: 'scroll' }, predictionsTable(r.predictions)));
    } catch (e) { batch.replaceChildren(errorBox(e)); }
  };
  fileInput.addEventListener('change', runCsv);

  setPage('Predict',
    el('div', { class: 'card' }, el('div', { class: 'row' }, el('label', {}, 'Model', picker), el('label', {}, 'Version', vpicker),
      config.auth_required ? el('span', { class: 'muted' }, apiKey() ? 'API key set for this tab' : 'This server needs an API key: you will be asked for it.') : null)),
    el('section', { class: 'card' }, el('h2', {}, 'One row'), form, result),
    el('section', { class: 'card' }, el('h2', {}, 'Many rows (CSV)'),
      el('p', { class: 'muted' }, 'A CSV file with a header row naming the fields: ' + schema.map(f => f.name).join(', ') + '. Other columns are ignored.'),
      fileInput, batch));
}

async function pageDashboard(name, version) {
  const url = version ? `/api/models/${encodeURIComponent(name)}/versions/${version}` : `/api/models/${encodeURIComponent(name)}`;
  const d = await getJSON(url);
  const t = d.training || {};
  const info = table(['fact', 'value'], [
    ['task', d.task], ['created', d.created], ['epochs run', t.epochs_run], ['best epoch', t.best_epoch], ['batch size', t.batch_size],
    ['optimizer', t.optimizer], ['rows (train / validation / test)', [t.rows_train, t.rows_validation, t.rows_test].join(' / ')],
    ['seed', t.seed], ['device', t.device], ['training time (s)', t.duration_secs], ['data', t.data_path]]);
  const charts = el('div', { class: 'grid', id: 'charts' }, d.charts.map(c => c.svg
    ? el('figure', { class: 'chart', 'data-chart': c.id }, svgNode(c.svg))
    : el('figure', { class: 'chart', 'data-chart': c.id }, el('figcaption', {}, c.title), el('p', { class: 'note' }, c.note))));
  setPage(`${d.name} v${d.version}`,
    el('p', {}, el('a', { href: '#/predict/' + encodeURIComponent(d.name) + '/' + d.version }, 'Predict with this version')),
    d.show_metrics_table ? el('section', { class: 'card' }, el('h2', {}, 'Metrics'), metricsTable(d.metrics)) : null,
    el('section', {}, el('h2', {}, 'Charts'), charts),
    el('section', { class: 'card' }, el('h2', {}, 'Training'), info),
    el('section', { class: 'card' }, el('h2', {}, 'Input schema'), schemaTable(d.schema)));
}

async function pageExperiments() {
  const d = await getJSON('/api/experiments');
  if (!d.runs.length) { setPage('Experiments', el('p', { class: 'note' }, 'No trained versions yet.')); return; }
  const names = [...new Set(d.runs.flatMap(r => Object.keys((r.metrics || {}).test || {})))].filter(k => !k.includes('_')).sort();
  setPage('Experiments',
    el('div', { class: 'grid' }, d.charts.map(c => svgNode(c.svg))),
    el('section', { class: 'card' }, el('h2', {}, 'Runs'),
      table(['run', 'task', 'architecture', 'optimizer', 'batch', 'epochs', 'best', 'seed', 'time (s)', ...names.map(n => 'test ' + n)],
        d.runs.map(r => [el('a', { href: '#/dashboard/' + encodeURIComponent(r.model) + '/' + r.version }, r.run), r.task, r.architecture,
          r.optimizer ? (r.optimizer.kind || r.optimizer.type || '') + ' lr ' + fmt(r.optimizer.lr) : '', r.batch_size, r.epochs_run, r.best_epoch, r.seed,
          r.duration_secs, ...names.map(n => ((r.metrics || {}).test || {})[n])]), { id: 'runs' })));
}

async function pageLive(run) {
  const d = await getJSON('/api/runs');
  const list = d.runs.length
    ? table(['run', 'last update', 'last record'], d.runs.map(r => [el('a', { href: '#/live/' + encodeURIComponent(r.run) }, r.run), r.modified, r.last ? JSON.stringify(r.last) : '']))
    : el('p', { class: 'note' }, 'No training logs in ' + d.logs_dir + ' yet. A running `neurite train` writes <run>.jsonl there.');
  if (!run) { setPage('Live training', el('section', { class: 'card' }, list)); return; }
  const status = el('p', { id: 'live-status' }, el('span', { class: 'status-dot' }), 'connecting…');
  const chartBox = el('div', { class: 'grid', id: 'live-charts' });
  const tbody = el('tbody');
  let cols = null;
  const head = el('thead');
  let pending = null;
  const refreshChart = () => {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      try { const c = await getJSON(`/api/runs/${encodeURIComponent(run)}/chart`); chartBox.replaceChildren(...c.charts.map(x => svgNode(x.svg))); } catch (e) { /* next event retries */ }
    }, 500);
  };
  setPage('Live training: ' + run, status, chartBox, el('section', { class: 'card' }, el('h2', {}, 'Epochs'), el('div', { class: 'scroll' }, el('table', { id: 'epochs' }, head, tbody))), el('section', { class: 'card' }, el('h2', {}, 'All logs'), list));
  liveSource = new EventSource(`/api/runs/${encodeURIComponent(run)}/events`);
  liveSource.onopen = () => { status.replaceChildren(el('span', { class: 'status-dot live' }), 'live'); };
  liveSource.onerror = () => { status.replaceChildren(el('span', { class: 'status-dot' }), 'reconnecting…'); };
  liveSource.addEventListener('reset', () => { tbody.replaceChildren(); });
  liveSource.onmessage = ev => {
    let rec;
    try { rec = JSON.parse(ev.data); } catch (e) { return; }
    if (rec.epoch === undefined) { status.append(' · ' + JSON.stringify(rec)); return; }
    if (!cols) { cols = Object.keys(rec); head.replaceChildren(el('tr', {}, cols.map(c => el('th', {}, c)))); }
    tbody.prepend(el('tr', {}, cols.map(c => el('td', { class: 'num' }, fmt(rec[c])))));
    status.replaceChildren(el('span', { class: 'status-dot live' }), `live · epoch ${rec.epoch}` + (rec.loss !== undefined ? ` · loss ${fmt(rec.loss)}` : ''));
    refreshChart();
  };
}

// ---------- router ----------
async function route() {
  if (liveSource) { liveSource.close(); liveSource = null; }
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = parts[0] || 'models';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page || (page === 'dashboard' && a.dataset.page === 'models'));
  try {
    if (page === 'predict') await pagePredict(parts[1], parts[2]);
    else if (page === 'dashboard') await pageDashboard(parts[1], parts[2]);
    else if (page === 'experiments') await pageExperiments();
    else if (page === 'live') await pageLive(parts[1]);
    else await pageModels();
  } catch (e) {
    setPage('Error', errorBox(e));
  }
}

(async function init() {
  try { config = await getJSON('/api/config'); } catch (e) { /* defaults */ }
  document.title = config.title;
  document.getElementById('title').textContent = config.title;
  const kb = document.getElementById('key-btn');
  if (config.auth_required) { kb.classList.remove('hidden'); kb.addEventListener('click', () => askKey()); }
  window.addEventListener('hashchange', route);
  route();
})();
