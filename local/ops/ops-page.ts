/**
 * `GET /_local/ops`: the local stack's live operations page. One static
 * document that polls `/_local/ops.json` every second and draws SVG (no
 * library, nothing from the network): propagation lag percentiles and
 * histogram, posts and events per second with a minute of history, sockets
 * per user, stream batch sizes, retries and on-failure records, DynamoDB
 * Local's status. The same EMF metrics CloudWatch shows on AWS.
 */
export const OPS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Task sync · local operations</title>
<style>
  :root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #f6f8fa; --card: #fff; --bar: #0969da; --warn: #bf3989; --ok: #1a7f37; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --card: #161b22; --bar: #4493f8; --warn: #f778ba; --ok: #3fb950; } }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; padding: 0 20px 20px; }
  section { background: var(--card); border-radius: 8px; padding: 12px 14px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 13px; margin: 0 0 8px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
  .figures { display: flex; gap: 18px; flex-wrap: wrap; }
  .figure b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
  .figure span { color: var(--muted); font-size: 12px; }
  svg { width: 100%; height: 120px; display: block; }
  svg text { fill: var(--muted); font-size: 10px; }
  .bar { fill: var(--bar); } .line { fill: none; stroke: var(--bar); stroke-width: 2; } .line.events { stroke: var(--warn); } .legend { font-size: 12px; color: var(--muted); } .legend i { display: inline-block; width: 10px; height: 3px; vertical-align: middle; margin: 0 4px 0 8px; }
  .status-ok { color: var(--ok); } .status-bad { color: var(--warn); }
</style>
</head>
<body>
<header><h1>Task sync · local operations</h1><span id="updated" data-testid="ops-updated">waiting for data…</span></header>
<main>
  <section aria-labelledby="lag-h"><h2 id="lag-h">Propagation lag (change → post)</h2>
    <div class="figures" data-testid="ops-lag">
      <div class="figure"><b id="lag-p50">–</b><span>p50 ms</span></div>
      <div class="figure"><b id="lag-p90">–</b><span>p90 ms</span></div>
      <div class="figure"><b id="lag-p99">–</b><span>p99 ms</span></div>
      <div class="figure"><b id="lag-count">0</b><span>deliveries</span></div>
    </div>
    <svg id="lag-histogram" role="img" aria-label="Histogram of propagation lag"></svg>
  </section>
  <section aria-labelledby="rate-h"><h2 id="rate-h">Per second (last 10 s)</h2>
    <div class="figures">
      <div class="figure"><b id="rate-events">0</b><span>events</span></div>
      <div class="figure"><b id="rate-posts">0</b><span>posts</span></div>
      <div class="figure"><b id="rate-gone">0</b><span>gone (410)</span></div>
      <div class="figure"><b id="rate-writes">0</b><span>writes</span></div>
    </div>
    <svg id="rate-history" role="img" aria-label="Posts and events per second, last minute"></svg>
    <div class="legend">last minute:<i style="background: var(--bar)"></i>posts<i style="background: var(--warn)"></i>events</div>
  </section>
  <section aria-labelledby="sock-h"><h2 id="sock-h">Open sockets per user</h2>
    <div class="figures"><div class="figure"><b id="sockets-open">0</b><span>open sockets</span></div></div>
    <svg id="sockets-histogram" role="img" aria-label="Users by number of open sockets"></svg>
  </section>
  <section aria-labelledby="batch-h"><h2 id="batch-h">Stream batches</h2>
    <div class="figures">
      <div class="figure"><b id="batch-avg">–</b><span>records / batch</span></div>
      <div class="figure"><b id="batch-max">–</b><span>largest batch</span></div>
      <div class="figure"><b id="batch-frames">–</b><span>frames / connection</span></div>
      <div class="figure"><b id="stream-retries">0</b><span>retries</span></div>
      <div class="figure"><b id="stream-failed">0</b><span>on-failure records</span></div>
    </div>
  </section>
  <section aria-labelledby="ddb-h"><h2 id="ddb-h">DynamoDB Local</h2>
    <div class="figures">
      <div class="figure"><b id="ddb-status">–</b><span>status</span></div>
      <div class="figure"><b id="ddb-restarts">0</b><span>restarts</span></div>
      <div class="figure"><b id="iam-denied">0</b><span>IAM denials</span></div>
    </div>
  </section>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(digits));
  const history = [];
  const svgNs = 'http://www.w3.org/2000/svg';
  function bars(svg, items) {
    const w = svg.clientWidth || 300, h = 120, pad = 18, max = Math.max(1, ...items.map((i) => i.value));
    const bw = (w - 10) / items.length;
    svg.replaceChildren();
    items.forEach((item, i) => {
      const bh = ((h - pad - 4) * item.value) / max;
      const rect = document.createElementNS(svgNs, 'rect');
      rect.setAttribute('class', 'bar'); rect.setAttribute('x', 5 + i * bw + 2); rect.setAttribute('width', Math.max(1, bw - 4));
      rect.setAttribute('y', h - pad - bh); rect.setAttribute('height', bh);
      const title = document.createElementNS(svgNs, 'title'); title.textContent = item.label + ': ' + item.value; rect.append(title);
      const label = document.createElementNS(svgNs, 'text'); label.setAttribute('x', 5 + i * bw + bw / 2); label.setAttribute('y', h - 4);
      label.setAttribute('text-anchor', 'middle'); label.textContent = item.label;
      svg.append(rect, label);
    });
  }
  function lines(svg, series) {
    const w = svg.clientWidth || 300, h = 120, max = Math.max(1, ...series.flatMap((s) => s.values));
    svg.replaceChildren();
    for (const s of series) {
      const pts = s.values.map((v, i) => (i * (w / 59)).toFixed(1) + ',' + (h - 6 - ((h - 16) * v) / max).toFixed(1)).join(' ');
      const line = document.createElementNS(svgNs, 'polyline'); line.setAttribute('class', 'line ' + s.cls); line.setAttribute('points', pts);
      svg.append(line);
    }
    const t = document.createElementNS(svgNs, 'text'); t.setAttribute('x', 4); t.setAttribute('y', 10); t.textContent = 'max ' + max.toFixed(1) + '/s';
    svg.append(t);
  }
  async function refresh() {
    try {
      const res = await fetch('/_local/ops.json', { cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const { ops, stats } = await res.json();
      $('updated').textContent = 'updated ' + new Date(ops.at).toLocaleTimeString();
      $('lag-p50').textContent = fmt(ops.lag.p50); $('lag-p90').textContent = fmt(ops.lag.p90);
      $('lag-p99').textContent = fmt(ops.lag.p99); $('lag-count').textContent = ops.lag.count;
      bars($('lag-histogram'), ops.lag.histogram.map((b) => ({ label: b.le === null ? '>' + ops.lag.histogram.at(-2).le : '≤' + b.le, value: b.count })));
      $('rate-events').textContent = fmt(ops.rates.records, 1); $('rate-posts').textContent = fmt(ops.rates.postsDelivered, 1);
      $('rate-gone').textContent = fmt(ops.rates.postsGone, 1); $('rate-writes').textContent = fmt(ops.rates.taskWrites, 1);
      history.push(ops.rates); if (history.length > 60) history.shift();
      lines($('rate-history'), [
        { cls: '', values: history.map((r) => r.postsDelivered) },
        { cls: 'events', values: history.map((r) => r.records) },
      ]);
      const ws = (stats && stats.websocket) || {};
      $('sockets-open').textContent = ws.open ?? 0;
      const per = ws.socketsPerUser || {};
      bars($('sockets-histogram'), ['1', '2', '3', '4', '5+'].map((k) => ({ label: k, value: per[k] || 0 })));
      $('batch-avg').textContent = fmt(ops.batches.averageRecords, 1); $('batch-max').textContent = fmt(ops.batches.maxRecords);
      $('batch-frames').textContent = fmt(ops.batches.averageFrames, 1);
      const streams = (stats && stats.streams) || {};
      $('stream-retries').textContent = streams.retries ?? 0; $('stream-failed').textContent = streams.discardedRecords ?? 0;
      const ddb = (stats && stats.dynamodb) || {};
      $('ddb-status').textContent = ddb.running ? 'running' : 'down';
      $('ddb-status').className = ddb.running ? 'status-ok' : 'status-bad';
      $('ddb-restarts').textContent = ddb.restarts ?? 0;
      const iam = (stats && stats.iam) || {};
      $('iam-denied').textContent = iam.denied ?? 0;
    } catch (error) {
      $('updated').textContent = 'stack unreachable: ' + error.message;
    }
  }
  refresh();
  setInterval(refresh, 1000);
})();
</script>
</body>
</html>
`;
