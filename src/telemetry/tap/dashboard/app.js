/*
 * The tap's dashboard (served at / by src/telemetry/tap/server.ts, loaded with Chart.js from the
 * npm package). It opens /events with the page's own ?token=, draws the loss (train and eval, raw and
 * smoothed as LLaMA-Factory's plot does, linear or log), learning rate, tokens/s, data wait and
 * memory as events arrive, and redraws the pipeline graph every second with each actor's share of
 * wall time busy / waiting for input / blocked on output since its previous counters sample. When
 * the connection drops (the run restarting) it reconnects with backoff and continues the same
 * curves: a step seen again (a resumed run replays from its checkpoint) replaces what followed it.
 */
'use strict';
(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const $ = (id) => document.getElementById(id);

  /** LLaMA-Factory's smoothing (extras/ploting.py): EMA whose weight grows with the curve's length. */
  function smooth(values) {
    if (values.length === 0) return [];
    const weight = 1.8 * (1 / (1 + Math.exp(-0.05 * values.length)) - 0.5);
    const out = [];
    let last = values[0];
    for (const v of values) {
      last = last * weight + (1 - weight) * v;
      out.push(last);
    }
    return out;
  }

  const state = {
    runId: null, status: 'connecting', hello: null, steps: 0, totalSteps: null, lastStep: null, events: 0,
    train: [], evals: [], lr: [], tps: [], wait: [], memory: new Map(), counters: new Map(), shares: new Map(),
    error: null, dropped: 0, hellos: 0, ended: null,
  };
  window.ptflowTap = state; // read by the browser test

  // --- charts -------------------------------------------------------------------------------------
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#db2777'];
  const baseOptions = (xTitle) => ({
    animation: false, responsive: true, maintainAspectRatio: false, normalized: true, parsing: false,
    interaction: { mode: 'nearest', intersect: false },
    plugins: { legend: { display: true, labels: { boxWidth: 12 } } },
    scales: { x: { type: 'linear', title: { display: true, text: xTitle } }, y: { type: 'linear' } },
    elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
  });
  const line = (label, color, extra) => Object.assign({ label, data: [], borderColor: color, backgroundColor: color }, extra || {});
  const lossChart = new Chart($('loss'), {
    type: 'line',
    data: {
      datasets: [
        line('train (raw)', 'rgba(37,99,235,0.35)'),
        line('train (smoothed)', '#2563eb'),
        line('eval', '#dc2626', { elements: { point: { radius: 3 } }, pointRadius: 3 }),
      ],
    },
    options: baseOptions('step'),
  });
  const simple = (id, label, color) => new Chart($(id), { type: 'line', data: { datasets: [line(label, color)] }, options: baseOptions('step') });
  const lrChart = simple('lr', 'learning rate', '#16a34a');
  const tpsChart = simple('tps', 'tokens/s', '#9333ea');
  const waitChart = simple('wait', 'data wait %', '#ea580c');
  const memChart = new Chart($('memory'), { type: 'line', data: { datasets: [] }, options: baseOptions('seconds') });
  lrChart.options.plugins.legend.display = false;
  tpsChart.options.plugins.legend.display = false;
  waitChart.options.plugins.legend.display = false;

  let dirty = false;
  function drawCharts() {
    const smoothed = smooth(state.train.map((p) => p.y));
    const showSmooth = $('smooth').checked;
    lossChart.data.datasets[0].data = state.train;
    lossChart.data.datasets[1].data = showSmooth ? state.train.map((p, i) => ({ x: p.x, y: smoothed[i] })) : [];
    lossChart.data.datasets[1].hidden = !showSmooth;
    lossChart.data.datasets[2].data = state.evals;
    lossChart.options.scales.y.type = $('logscale').checked ? 'logarithmic' : 'linear';
    lrChart.data.datasets[0].data = state.lr;
    tpsChart.data.datasets[0].data = state.tps;
    waitChart.data.datasets[0].data = state.wait;
    let i = 0;
    const t0 = firstMemoryTs();
    // RSS is the process's (every thread reports the same); the JS heap is each thread's own.
    const rss = [];
    for (const pts of state.memory.values()) for (const p of pts) rss.push({ x: (p.ts - t0) / 1000, y: p.rss / 1e6 });
    rss.sort((a, b) => a.x - b.x);
    memChart.data.datasets = [line('process RSS', '#111827', { data: rss })].concat(
      [...state.memory.entries()].map(([thread, pts]) => {
        const c = palette[i++ % palette.length];
        return line(`heap ${thread.replace(/Actor$/, '')}`, c, { data: pts.map((p) => ({ x: (p.ts - t0) / 1000, y: p.heap / 1e6 })) });
      }),
    );
    for (const ch of [lossChart, lrChart, tpsChart, waitChart, memChart]) ch.update('none');
    dirty = false;
  }
  function firstMemoryTs() {
    let t = Infinity;
    for (const pts of state.memory.values()) if (pts.length) t = Math.min(t, pts[0].ts);
    return Number.isFinite(t) ? t : 0;
  }
  $('smooth').addEventListener('change', drawCharts);
  $('logscale').addEventListener('change', drawCharts);

  /** A step seen again (resumed run, or a reconnect's replay) replaces that step and what followed. */
  function cutFrom(series, x) {
    let n = series.length;
    while (n > 0 && series[n - 1].x >= x) n--;
    series.length = n;
  }

  // --- pipeline graph -----------------------------------------------------------------------------
  const SVG = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function actorOrder(graph) {
    // Sources first, then each actor after its producers (the graph is a DAG).
    const names = graph.actors.map((a) => a.name);
    const depth = new Map(names.map((n) => [n, 0]));
    for (let pass = 0; pass < names.length; pass++) {
      for (const e of graph.edges) {
        const from = e.from.split('.')[0];
        const to = e.to.split('.')[0];
        depth.set(to, Math.max(depth.get(to), depth.get(from) + 1));
      }
    }
    return names.slice().sort((a, b) => depth.get(a) - depth.get(b));
  }
  function drawGraph() {
    const svg = $('graph');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const defs = el('defs', {}, svg);
    const m = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#888' }, m);
    const graph = state.hello && state.hello.graph;
    const names = graph ? actorOrder(graph) : [...state.counters.keys()];
    if (names.length === 0) {
      const t = el('text', { x: 10, y: 30 }, svg);
      t.textContent = state.hello && state.hello.command === 'prepare' ? 'ptflow prepare runs no actor graph' : 'waiting for the pipeline…';
      return;
    }
    const W = svg.clientWidth || 900;
    const gap = 80;
    const bw = Math.max(120, Math.min(220, (W - gap * (names.length + 1)) / names.length));
    const pos = new Map(names.map((n, i) => [n, { x: gap + i * (bw + gap), y: 20 }]));
    const bh = 110;
    let top = null;
    for (const [name, s] of state.shares) if (s.busy > 0 && (!top || s.busy > state.shares.get(top).busy)) top = name;
    if (graph) {
      for (const e of graph.edges) {
        const a = pos.get(e.from.split('.')[0]);
        const b = pos.get(e.to.split('.')[0]);
        if (!a || !b) continue;
        const port = e.to.split('.')[1];
        const yOff = port === 'eval' ? 25 : 0;
        el('line', { class: 'edge', x1: a.x + bw, y1: a.y + bh / 2 + yOff, x2: b.x, y2: b.y + bh / 2 + yOff }, svg);
        const t = el('text', { x: a.x + bw + 4, y: a.y + bh / 2 + yOff - 4, 'font-size': 10 }, svg);
        t.textContent = `${port} ≤${e.window}`;
      }
    }
    for (const name of names) {
      const p = pos.get(name);
      const s = state.shares.get(name);
      const c = state.counters.get(name);
      const g = el('g', { class: 'actor' + (name === top ? ' bottleneck' : ''), 'data-actor': name, transform: `translate(${p.x},${p.y})` }, svg);
      if (s) {
        g.setAttribute('data-busy', s.busy.toFixed(3));
        g.setAttribute('data-waiting', s.waiting.toFixed(3));
        g.setAttribute('data-blocked', s.blocked.toFixed(3));
      }
      el('rect', { class: 'box', width: bw, height: bh, rx: 6 }, g);
      const title = el('text', { x: 8, y: 18, 'font-weight': 'bold' }, g);
      title.textContent = name.replace(/Actor$/, '');
      // The stacked share bar.
      let x = 8;
      const barW = bw - 16;
      for (const k of ['busy', 'waiting', 'blocked']) {
        const w = s ? barW * s[k] : 0;
        el('rect', { class: k, x, y: 28, width: Math.max(0, w), height: 14 }, g);
        x += w;
      }
      el('rect', { class: 'other', x, y: 28, width: Math.max(0, 8 + barW - x), height: 14 }, g);
      const lines = s
        ? [`busy ${pct(s.busy)} · wait ${pct(s.waiting)}`, `blocked ${pct(s.blocked)}`, `queue ${c ? c.queueDepth : 0} (max ${c ? c.maxQueueDepth : 0})`, `msgs in ${c ? c.messagesIn : 0} out ${c ? c.messagesOut : 0}`]
        : ['no counters yet'];
      lines.forEach((l, i) => {
        const t = el('text', { x: 8, y: 58 + i * 14 }, g);
        t.textContent = l;
      });
    }
  }
  const pct = (x) => `${Math.round(100 * x)}%`;

  // --- events -------------------------------------------------------------------------------------
  function logLine(text, level) {
    const li = document.createElement('li');
    li.textContent = text;
    if (level) li.className = level;
    const ul = $('log');
    ul.appendChild(li);
    while (ul.childNodes.length > 200) ul.removeChild(ul.firstChild);
    ul.scrollTop = ul.scrollHeight;
  }

  function onEvent(e) {
    state.events++;
    const d = e.data;
    switch (e.type) {
      case 'tap.hello':
        state.hellos++;
        if (state.runId !== e.run_id) {
          state.ended = null;
          setStatus('live', 'live');
        }
        if (state.runId !== null && state.runId !== e.run_id) logLine(`run restarted: ${e.run_id}`);
        state.runId = e.run_id;
        state.hello = d;
        $('run').textContent = `${d.command} run ${e.run_id.slice(0, 8)}` +
          (d.model_parameters !== null ? ` · ${(d.model_parameters / 1e6).toFixed(2)}M parameters` : '') + ` · backend ${d.backend}`;
        break;
      case 'tap.error':
        logLine(`tap: ${d.message}`, 'error');
        break;
      case 'tap.dropped':
        state.dropped += d.dropped;
        logLine(`missed ${d.dropped} events (this page read too slowly)`, 'warn');
        break;
      case 'train.step': {
        const x = e.step;
        for (const s of [state.train, state.lr, state.tps, state.wait]) cutFrom(s, x);
        state.train.push({ x, y: d.loss });
        state.lr.push({ x, y: d.learning_rate });
        state.tps.push({ x, y: d.tokens_per_second });
        const tot = d.step_time_ms + d.data_wait_ms;
        state.wait.push({ x, y: tot > 0 ? (100 * d.data_wait_ms) / tot : 0 });
        state.steps = state.train.length;
        state.lastStep = x;
        state.totalSteps = d.total_steps;
        $('progress').textContent = `step ${x}/${d.total_steps} · loss ${d.loss.toFixed(4)}`;
        dirty = true;
        break;
      }
      case 'eval.result':
        cutFrom(state.evals, e.step);
        state.evals.push({ x: e.step, y: d.eval_loss });
        dirty = true;
        break;
      case 'memory': {
        const pts = state.memory.get(d.thread) || [];
        while (pts.length && pts[pts.length - 1].ts >= e.ts) pts.pop();
        pts.push({ ts: e.ts, rss: d.rss, heap: d.heapUsed });
        if (pts.length > 4000) pts.splice(0, pts.length - 4000);
        state.memory.set(d.thread, pts);
        dirty = true;
        break;
      }
      case 'actor.counters': {
        const prev = state.counters.get(d.actor);
        const prevTs = state.countersTs && state.countersTs.get(d.actor);
        state.countersTs = state.countersTs || new Map();
        state.counters.set(d.actor, d.counters);
        state.countersTs.set(d.actor, e.ts);
        if (prev && prevTs !== undefined && e.ts > prevTs) {
          const dt = e.ts - prevTs;
          const share = (a, b) => Math.min(1, Math.max(0, (a - b) / dt));
          state.shares.set(d.actor, {
            busy: share(d.counters.busyMs, prev.busyMs),
            waiting: share(d.counters.waitingForInputMs, prev.waitingForInputMs),
            blocked: share(d.counters.blockedOnOutputMs, prev.blockedOnOutputMs),
          });
        }
        break;
      }
      case 'run.stop':
        state.ended = d.status;
        setStatus(d.status === 'failed' ? 'refused' : 'live', `run ${d.status}`);
        logLine(`run ${d.status} after ${d.elapsed_s.toFixed(1)} s${d.reason ? ': ' + d.reason : ''}`, d.status === 'failed' ? 'error' : null);
        break;
      case 'checkpoint.saved':
        logLine(`step ${d.step}: checkpoint ${d.path}`);
        break;
      case 'log':
        logLine(d.message, d.level === 'info' ? null : d.level);
        break;
      case 'run.error':
        logLine(`error in ${d.actor}: ${d.message}`, 'error');
        break;
      default:
        break;
    }
  }

  // --- connection ---------------------------------------------------------------------------------
  function setStatus(s, text) {
    state.status = s;
    const el = $('status');
    el.className = 'status ' + s;
    el.textContent = text;
  }
  function showError(text) {
    state.error = text;
    const e = $('error');
    e.textContent = text;
    e.hidden = false;
  }

  let backoff = 500;
  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events` + (token ? `?token=${encodeURIComponent(token)}` : '');
    let opened = false;
    const ws = new WebSocket(url);
    ws.onopen = () => {
      opened = true;
      backoff = 500;
      $('error').hidden = true;
      state.error = null;
      setStatus('live', state.ended ? `run ${state.ended}` : 'live');
    };
    ws.onmessage = (m) => {
      try {
        onEvent(JSON.parse(m.data));
      } catch (err) {
        logLine(`could not read an event: ${err.message}`, 'error');
      }
    };
    ws.onclose = () => {
      if (!opened && state.hellos === 0) {
        // Never connected: the tap refused (wrong token, not this tap's origin, too many clients) or is not there.
        setStatus('refused', 'not connected');
        showError(`Cannot open the event stream at ${location.host}/events: the tap refused the connection ` +
          '(a wrong or missing ?token=, or too many clients) or the run is not running. Retrying…');
      } else if (state.ended) {
        setStatus('down', `run ${state.ended} · waiting for a restart…`);
      } else {
        setStatus('down', 'reconnecting…');
      }
      setTimeout(connect, backoff);
      backoff = Math.min(5000, backoff * 2);
    };
  }

  setInterval(() => {
    drawGraph();
    if (dirty) drawCharts();
  }, 1000);
  drawGraph();
  connect();
})();
