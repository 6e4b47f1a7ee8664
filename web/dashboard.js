// The dashboard's page script (docs/dashboard.md): one page for /jobs, /job/ID, /nodes and
// /models, served by `ogai-sched --http` with uPlot and web/charts.js inlined before it. It
// carries no data: it asks the daemon's /api with the token the user gave (the field, kept in
// sessionStorage, or the URL fragment #token=..., never a query) as `Authorization: Bearer`.
// Text from the API is only ever set as text (textContent, text nodes), never as HTML.
// What the page shows is mirrored in window.ogaiDash for the browser tests (WebDriver).
(function () {
  'use strict';
  const probe = window.ogaiDash = {
    view: '', who: null, error: '', refused: 0, jobs: [], rows: [], job: null, steps: 0, points: {},
    metricsPolls: 0, metricsUnchanged: 0, firstDrawMs: null, drawMs: null, chartsUnavailable: '', log: 0,
  };
  const $ = id => document.getElementById(id);
  const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
  const TOKEN_KEY = 'ogai-dashboard-token';

  // An element with attributes and children; strings become text nodes (never parsed).
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) {
      if (k != null) e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  const num = v => (v == null || v === '' ? 0 : Number(v));  // proto3 JSON's int64 are strings
  function age(unix) {
    if (!unix) return '-';
    let s = Math.max(0, Math.round(Date.now() / 1000 - unix));
    const d = Math.floor(s / 86400), hr = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    s %= 60;
    return d ? `${d}d ${hr}h` : hr ? `${hr}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
  }
  const when = unix => (unix ? new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '-');

  // ---- the token and the API ----
  (function takeFragmentToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);  // not left in the address bar
  })();
  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }
  // The browser's cache is never used ('no-store'): a conditional request is the page's own.
  async function request(path, method, extra) {
    const headers = Object.assign({}, extra);
    if (token()) headers.Authorization = 'Bearer ' + token();
    try {
      return await fetch(path, {method: method || 'GET', headers, cache: 'no-store', credentials: 'omit'});
    } catch (e) {
      throw new ApiError(0, 'the daemon did not answer (' + e.message + ')');
    }
  }
  async function bodyOf(r) {
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) throw new ApiError(r.status, body && body.error ? body.error : r.status + ' ' + r.statusText);
    return body;
  }
  const api = async (path, method) => bodyOf(await request(path, method));
  // A GET that sends the tag of the answer `held` has ({etag, body}) as If-None-Match: when the
  // server answers 304 (nothing changed, no body sent) that answer is returned again.
  async function apiUnlessSame(path, held) {
    const r = await request(path, 'GET', held.etag ? {'If-None-Match': held.etag} : {});
    if (r.status === 304 && held.body) {
      held.unchanged = (held.unchanged || 0) + 1;
      return held.body;
    }
    held.body = await bodyOf(r);
    held.etag = r.headers.get('ETag') || '';
    return held.body;
  }
  function showError(e) {
    const b = $('banner');
    let text;
    if (e.status === 401) {
      text = (token() ? 'The API refused this token' : 'No token: the API needs one') + ' (401: ' + e.message +
          '). Enter your tenant\'s token above.';
    } else if (e.status === 403) {
      text = 'Not allowed with this token (403: ' + e.message + ').';
    } else if (e.status === 404) {
      text = 'Not found (404: ' + e.message + ').';
    } else {
      text = 'Request failed' + (e.status ? ' (' + e.status + ')' : '') + ': ' + e.message;
    }
    b.textContent = text;
    b.hidden = false;
    probe.error = text;
    if (e.status === 401 || e.status === 403) probe.refused = e.status;
  }
  function clearError() {
    $('banner').hidden = true;
    probe.error = '';
  }
  // Runs fn now and then every `ms` (after it finished) until it returns false.
  function poll(fn, ms) {
    const loop = async () => {
      let again = true;
      try {
        again = (await fn()) !== false;
        clearError();
      } catch (e) {
        showError(e);
      }
      if (again) setTimeout(loop, ms);
    };
    loop();
  }

  // ---- shared pieces ----
  let who = null;
  const mayChange = j => who && (who.admin || who.tenant === j.tenant);
  const isFinal = j => FINAL.includes(j.state);
  // cancel / hold / release buttons for a job the token may change; `done` runs after one.
  function actions(j, done) {
    if (!mayChange(j)) return h('span', {class: 'note'}, '-');
    const box = h('span');
    const act = (what, label, confirm) => {
      const b = h('button', {class: 'act', id: what + '-' + j.id, type: 'button'}, label);
      let armed = false;
      b.addEventListener('click', async () => {
        if (confirm && !armed) {  // a cancel takes a second click within 5 s
          armed = true;
          b.textContent = 'really cancel?';
          b.classList.add('armed');
          setTimeout(() => {
            armed = false;
            b.textContent = label;
            b.classList.remove('armed');
          }, 5000);
          return;
        }
        b.disabled = true;
        try {
          await api('/api/jobs/' + encodeURIComponent(j.id) + '/' + what, 'POST');
          clearError();
        } catch (e) {
          showError(e);
        }
        done();
      });
      box.append(b);
    };
    if (!isFinal(j)) act('cancel', 'cancel', true);
    if (j.state === 'PENDING' && !j.held) act('hold', 'hold', false);
    if (j.held) act('release', 'release', false);
    return box;
  }
  function table(headers, rows) {
    return h('table', null, h('thead', null, h('tr', null, headers.map(x => h('th', null, x)))),
             h('tbody', null, rows));
  }
  function kvTable(pairs) {
    return h('table', null, pairs.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))));
  }

  // ---- Jobs ----
  function jobsView(view) {
    const q = new URLSearchParams(location.search);
    const tenantSel = h('select', {id: 'filter-tenant'}, h('option', {value: ''}, 'all tenants'));
    const stateSel = h('select', {id: 'filter-state'}, h('option', {value: ''}, 'all states'),
                       ['PENDING', 'RUNNING', 'PREEMPTING', 'COMPLETED', 'FAILED', 'CANCELLED'].map(
                           s => h('option', {value: s}, s)));
    const finished = h('input', {type: 'checkbox', id: 'filter-finished', checked: q.get('finished') !== '0'});
    stateSel.value = q.get('state') || '';
    let tenant = q.get('tenant') || '';
    const body = h('tbody');
    const count = h('span', {class: 'note'});
    view.append(h('h1', null, 'Jobs'),
                h('div', {class: 'filters'}, h('label', null, 'Tenant ', tenantSel), h('label', null, 'State ', stateSel),
                  h('label', null, finished, ' finished jobs too'), count),
                h('table', {id: 'jobs'},
                  h('thead', null, h('tr', null, ['id', 'name', 'state', 'reason', 'tenant', 'ranks', 'nodes', 'age',
                                                   'step', ''].map(x => h('th', null, x)))),
                  body));
    let jobs = [];
    const render = () => {
      const state = stateSel.value;
      const rows = jobs.filter(j => (!tenant || j.tenant === tenant) && (!state || j.state === state));
      body.replaceChildren(...rows.map(j => h('tr', {class: isFinal(j) ? 'final' : null, 'data-id': j.id},
          h('td', null, h('a', {href: '/job/' + encodeURIComponent(j.id)}, j.id)), h('td', null, j.name),
          h('td', {class: 'state ' + j.state}, j.state + (j.held ? ' (held)' : '')), h('td', null, j.reason),
          h('td', null, j.tenant), h('td', null, j.ranks), h('td', null, j.hosts || '-'),
          h('td', {title: when(num(j.submit_unix))}, age(num(j.submit_unix))),
          h('td', null, num(j.total_steps) ? num(j.step) + '/' + num(j.total_steps) : num(j.step) || '-'),
          h('td', null, actions(j, refresh)))));
      count.textContent = rows.length + ' of ' + jobs.length + ' jobs';
      document.title = 'ogai · jobs (' + jobs.filter(j => !isFinal(j)).length + ' active)';
      probe.rows = rows.map(j => String(j.id));
    };
    const keepUrl = () => {
      const p = new URLSearchParams();
      if (tenant) p.set('tenant', tenant);
      if (stateSel.value) p.set('state', stateSel.value);
      if (!finished.checked) p.set('finished', '0');
      history.replaceState(null, '', location.pathname + (p.toString() ? '?' + p : ''));
    };
    tenantSel.addEventListener('change', () => { tenant = tenantSel.value; keepUrl(); render(); });
    stateSel.addEventListener('change', () => { keepUrl(); render(); });
    finished.addEventListener('change', () => { keepUrl(); refresh().catch(showError); });
    async function refresh() {
      const r = await api('/api/jobs' + (finished.checked ? '?all=1' : ''));
      jobs = (r && r.jobs) || [];
      probe.jobs = jobs.map(j => ({id: String(j.id), name: j.name, state: j.state, tenant: j.tenant, held: !!j.held}));
      const tenants = [...new Set(jobs.map(j => j.tenant).concat(tenant ? [tenant] : []))].sort();
      if (tenantSel.options.length - 1 !== tenants.length) {
        tenantSel.replaceChildren(h('option', {value: ''}, 'all tenants'), ...tenants.map(t => h('option', {value: t}, t)));
        tenantSel.value = tenant;
      }
      render();
    }
    poll(refresh, 2000);
  }

  // ---- One job ----
  // The job page's charts: which series of /api/jobs/ID/metrics each draws.
  const CHARTS = [
    {id: 'loss', title: 'Loss', ylabel: 'loss', series: [['loss', 'train loss'], ['val_loss', 'validation loss', true]]},
    {id: 'val_bpb', title: 'Validation bits per byte', ylabel: 'bits/byte',
     series: [['val_bits_per_byte', 'validation bits per byte', true]]},
    {id: 'tokens', title: 'Throughput', ylabel: 'tokens/s', series: [['tokens_per_s', 'tokens/s']]},
    {id: 'step_ms', title: 'Step time', ylabel: 'ms', series: [['step_ms', 'step time (ms)']]},
    {id: 'lr', title: 'Learning rate', ylabel: 'learning rate', series: [['lr', 'learning rate']]},
    {id: 'grad_norm', title: 'Gradient norm', ylabel: 'norm', series: [['grad_norm', 'gradient norm (before clipping)']]},
    {id: 'comm', title: 'DP exposed communication', ylabel: 'ms', series: [['dp_exposed_ms', 'DP exposed (mean over ranks)']]},
  ];
  // A chart record for web/charts.js from the metrics answer; null when it has no such series.
  function chartRecord(def, m) {
    const S = m.series || {};
    const x = S.step || [];
    const series = def.series.filter(([k]) => Array.isArray(S[k]) && S[k].some(v => v != null))
                       .map(([k, label, points]) => ({label, y: S[k], points: !!points}));
    if (!series.length) return null;
    const marks = m.marks || [];
    return {id: def.id, xlabel: 'step', ylabel: def.ylabel, log: false, x, series,
            checkpoints: marks.filter(k => k.kind === 'checkpoint').map(k => num(k.step)),
            restarts: marks.filter(k => k.kind === 'restart' || k.kind === 'attempt').map(k => num(k.step))};
  }

  function jobView(view, id) {
    const title = h('h1', null, 'Job ' + id);
    const act = h('span');
    const info = h('div');
    const chartsNote = h('p', {class: 'note', id: 'metrics-note'}, 'Loading metrics...');
    const grid = h('div', {class: 'grid'});
    const ckpts = h('div'), events = h('div');
    const log = h('pre', {class: 'log', id: 'log'});
    // Hidden while the job cannot be read (no token, another tenant's job): the banner says why.
    const rest = h('div', {id: 'job-body'});
    view.append(title, act, info, rest);
    rest.append(h('h2', null, 'Curves'), chartsNote,
                h('p', {class: 'note'}, 'Dashed lines: ', h('span', {class: 'mark-ckpt'}, 'green'),
                  ' a committed checkpoint, ', h('span', {class: 'mark-restart'}, 'red'),
                  ' a restart or a new attempt (preemption, requeue), at the step it resumed from. Drag to zoom, double-click to reset.'),
                grid, h('h2', null, 'Checkpoints'), ckpts, h('h2', null, 'Restarts, preemptions and other events'),
                events, h('h2', null, 'Log (tail)'), log);
    const path = '/api/jobs/' + encodeURIComponent(id);
    let job = null, shown = '';
    async function refreshInfo() {
      try {
        job = await api(path);
      } catch (e) {
        if (!job && [401, 403, 404].includes(e.status)) rest.hidden = true;
        throw e;
      }
      rest.hidden = false;
      const same = JSON.stringify(job);
      if (same === shown) return true;  // nothing changed: the DOM is left alone
      shown = same;
      probe.job = {id: String(job.id), state: job.state, step: num(job.step)};
      title.textContent = 'Job ' + job.id + (job.name ? ': ' + job.name : '');
      act.replaceChildren(actions(job, () => refreshInfo().catch(showError)));
      info.replaceChildren(kvTable([
        ['state', h('span', {class: 'state ' + job.state}, job.state + (job.held ? ' (held)' : ''))],
        ['reason', job.reason || '-'], ['tenant', job.tenant], ['ranks', job.ranks], ['nodes', job.hosts || '-'],
        ['step', num(job.step) + (num(job.total_steps) ? ' of ' + num(job.total_steps) : '') +
            ' (last committed checkpoint: ' + (num(job.committed_step) || 'none') + ')'],
        ['attempt', job.attempt + ' (requeues ' + job.requeues + ')'], ['submitted', when(num(job.submit_unix))],
        ['started', when(num(job.start_unix))], ['ended', when(num(job.end_unix))],
        ['exit code', isFinal(job) ? job.exit_code : '-'], ['folder', job.dir || '-'],
        ['metrics file', job.metrics_file || '-'],
      ]));
      const cps = job.checkpoints || [];
      ckpts.replaceChildren(cps.length ? table(['step', 'folder'], cps.map(c => h('tr', null, h('td', null, num(c.step)),
                                                                               h('td', null, c.path))))
                                       : h('p', {class: 'note'}, 'No committed checkpoint yet.'));
      const ev = job.events || [];
      events.replaceChildren(ev.length ? h('ul', null, ev.map(e => h('li', null, e))) : h('p', {class: 'note'}, 'None.'));
      return true;
    }
    const drawn = {}, held = {};
    let width = 0, drawnKey = '';
    async function refreshMetrics() {
      const f0 = performance.now();
      const m = await apiUnlessSame(path + '/metrics?points=2000', held);  // 304: what is drawn stays
      probe.fetchMs = performance.now() - f0;
      probe.metricsPolls++;
      probe.metricsUnchanged = held.unchanged || 0;
      probe.steps = num(m.steps);
      document.title = 'ogai · job ' + id + ' · step ' + probe.steps + (m.done ? ' (done)' : '');  // what a tab shows
      const n = (m.series && m.series.step || []).length;
      chartsNote.textContent = probe.steps ? probe.steps + ' steps' +
          (n < probe.steps ? ', downsampled on the server to ' + n + ' points per chart (each bucket keeps its ' +
                                 'lowest and highest value)' : '') + (m.done ? '; finished.' : '; updating every 1.5 s.')
                                           : 'No metrics yet' + (m.done ? '.' : ': waiting for the first step.');
      if (probe.chartsUnavailable || !probe.steps) return !(m.done && job && isFinal(job));
      // Redrawn only when something new came (a step, a mark, the end).
      const key = [m.steps, m.lines, (m.marks || []).length, m.done].join('/');
      if (key === drawnKey) return !(m.done && job && isFinal(job));
      drawnKey = key;
      const t = performance.now();
      if (!width) width = Math.floor(Math.max(440, Math.min(640, (grid.clientWidth - 24) / 2)));
      for (const def of CHARTS) {
        const c = chartRecord(def, m);
        if (!c) continue;
        let d = drawn[def.id];
        if (d && !d.chart.sameShape(c)) {
          d.chart.destroy();
          d.box.remove();
          d = null;
        }
        if (!d) {
          const el = h('div', {class: 'chart', id: 'chart-' + def.id});
          const box = h('div', null, h('h3', null, def.title), el);
          grid.append(box);
          d = drawn[def.id] = {box, chart: OgaiCharts.draw(c, el, width)};
        } else {
          d.chart.update(c);
        }
        probe.points[def.id] = d.chart.points();
      }
      probe.drawMs = performance.now() - t;
      if (probe.firstDrawMs == null) probe.firstDrawMs = performance.now();  // since navigation started
      return !(m.done && job && isFinal(job));
    }
    let offset = 0, text = '';
    async function refreshLog() {
      for (let i = 0; i < 64; i++) {  // follows the log: at most 64 x 64 KiB per poll
        const r = await api(path + '/log?offset=' + offset);
        offset = num(r.offset);
        if (r.text) text = (text + r.text).slice(-256 * 1024);
        if (r.eof || !r.text) break;
      }
      if (log.textContent !== (text || '(empty)')) {
        const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.textContent = text || '(empty)';
        if (atEnd) log.scrollTop = log.scrollHeight;
      }
      probe.log = text.length;
      return !(job && isFinal(job) && text.length && offset > 0);
    }
    poll(refreshInfo, 1500);
    poll(refreshMetrics, 1500);
    poll(refreshLog, 2000);
  }

  // ---- Nodes ----
  function nodesView(view) {
    const nodes = h('div'), quota = h('div');
    view.append(h('h1', null, 'Nodes'), nodes, h('h2', null, 'Tenants: quota and use (ranks)'), quota);
    poll(async () => {
      const r = await api('/api/nodes');
      const ns = (r && r.nodes) || [];
      probe.nodes = ns.map(n => ({name: n.name, up: !!n.up, used: n.used, slots: n.slots}));
      let used = 0, slots = 0;
      for (const n of ns) if (n.up) { used += n.used || 0; slots += n.slots || 0; }
      nodes.replaceChildren(h('p', null, `${used} of ${slots} slots used on the nodes that are up; ${slots - used} free.`),
          table(['node', 'slots', 'used', 'free', 'state', 'reason', 'jobs'], ns.map(n => h('tr', null,
              h('td', null, n.name), h('td', null, n.slots || 0), h('td', null, n.used || 0),
              h('td', null, n.up ? (n.slots || 0) - (n.used || 0) : 0),
              h('td', {class: n.up ? null : 'down'}, n.up ? 'up' : 'down'), h('td', null, n.reason || ''),
              h('td', null, n.jobs || '')))));
      const q = await api('/api/quota');
      quota.replaceChildren(table(['tenant', 'quota', 'may borrow', 'running', 'pending', 'usage (decayed rank-s)'],
          ((q && q.tenants) || []).map(t => h('tr', null, h('td', null, t.name), h('td', null, t.quota || 0),
              h('td', null, t.borrow_limit || 0), h('td', null, t.used || 0), h('td', null, t.pending || 0),
              h('td', null, Math.round(t.usage || 0))))));
    }, 3000);
  }

  // ---- Models ----
  function evalText(e) {
    const f = v => (v == null ? '-' : Number(v).toPrecision(4));
    return (e.data || '?') + ': loss ' + f(e.loss) + ', perplexity ' + f(e.perplexity) +
        (e.bits_per_byte ? ', bits/byte ' + f(e.bits_per_byte) : '');
  }
  function modelsView(view) {
    const box = h('div');
    view.append(h('h1', null, 'Models'), box);
    poll(async () => {
      const r = await api('/api/models');
      const models = (r && r.models) || [];
      probe.models = models.map(m => m.name);
      if (!models.length) {
        box.replaceChildren(h('p', {class: 'note'}, 'The registry holds no model.'));
        return true;
      }
      box.replaceChildren(...models.map(m => {
        const vs = m.versions || [];
        const lin = v => v.lineage || {};
        return h('section', null, h('h2', null, m.name),
            h('p', {class: 'note'}, 'aliases: ' + ((m.aliases || []).join(', ') || 'none')),
            table(['version', 'created', 'aliases', 'parent', 'source', 'step', 'data', 'children', 'evaluations'],
                vs.map(v => h('tr', null, h('td', null, '@' + v.version),
                    h('td', null, v.created_ms ? when(num(v.created_ms) / 1000) : '-'),
                    h('td', null, (v.aliases || []).join(', ')), h('td', null, lin(v).parent || '-'),
                    h('td', null, lin(v).source || '-'), h('td', null, num(lin(v).step)),
                    h('td', null, lin(v).dataset_id || '-'), h('td', null, (v.children || []).join(', ')),
                    h('td', null, (v.evaluations || []).length ? h('ul', null, v.evaluations.map(e => h('li', null, evalText(e))))
                                                               : '-')))));
      }));
      return false;  // the registry changes rarely: reload the page to refresh
    }, 0);
  }

  // ---- start ----
  function start() {
    const input = $('token');
    $('token-form').addEventListener('submit', ev => {
      ev.preventDefault();
      if (input.value.trim()) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      location.reload();
    });
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.reload();
    });
    if (typeof uPlot === 'undefined' || typeof OgaiCharts === 'undefined') {
      probe.chartsUnavailable = $('charts-reason').textContent || 'uPlot did not load';
      const w = $('charts-unavailable');
      w.textContent = 'Charts are unavailable: ' + probe.chartsUnavailable + '. The tables are complete.';
      w.hidden = false;
    }
    const p = location.pathname.replace(/\/+$/, '');
    const view = $('view');
    const m = /^\/job\/([0-9]+)$/.exec(p);
    probe.view = m ? 'job' : p === '/nodes' ? 'nodes' : p === '/models' ? 'models' : 'jobs';
    const nav = $('nav-' + (probe.view === 'job' ? 'jobs' : probe.view));
    if (nav) nav.classList.add('on');
    api('/api/whoami').then(w => {
      who = probe.who = w;
      $('who').textContent = 'tenant ' + w.tenant + (w.admin ? ' (admin)' : '');
    }, showError).finally(() => {
      if (m) jobView(view, m[1]);
      else if (probe.view === 'nodes') nodesView(view);
      else if (probe.view === 'models') modelsView(view);
      else jobsView(view);
    });
  }
  start();
})();
