// ogai-report's page script (inlined into the report by web/report_html.cc; plain ES2017,
// no network). Draws one uPlot chart per entry of the embedded data and writes what it drew
// into #plotted (points per chart), #painted (pixels of the loss curve's colour on its
// canvas), #render-ms (from the start of navigation until the charts are drawn: reading and
// parsing the page and uPlot included) and #script-ms (this script alone), which tests read
// with headless Chromium.
(function () {
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const colors = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b'];
  const width = Math.max(480, Math.min(1100, document.body.clientWidth - 48));
  function markers(xs, color) {
    return {
      hooks: {
        draw: [u => {
          const ctx = u.ctx, b = u.bbox;
          ctx.save();
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
          for (const x of xs) {
            const px = Math.round(u.valToPos(x, 'x', true));
            if (px < b.left || px > b.left + b.width) continue;
            ctx.beginPath();
            ctx.moveTo(px, b.top);
            ctx.lineTo(px, b.top + b.height);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }
  // Small values (a learning rate of 6e-5) in exponent form; uPlot's default shows them as 0.
  const tick = v => v == null ? '' : (v !== 0 && (Math.abs(v) < 0.01 || Math.abs(v) >= 1e6))
      ? v.toExponential(1) : String(+v.toPrecision(6));
  const stepTicks = [];
  for (let m = 1; m <= 1e9; m *= 10) stepTicks.push(m, 2 * m, 5 * m);
  const plotted = {};
  for (const c of D.charts) {
    const el = document.getElementById('chart-' + c.id);
    const opts = {
      width: width,
      height: 240,
      scales: {x: {time: false}, y: {distr: c.log ? 3 : 1}},
      // Steps are whole numbers: no tick at step 1.5 in a short run.
      axes: [{label: c.xlabel, incrs: c.xlabel === 'step' ? stepTicks : undefined},
             {label: c.ylabel, size: 72, values: (u, vals) => vals.map(tick)}],
      series: [{label: c.xlabel}].concat(c.series.map((s, i) => ({
        label: s.label, stroke: colors[i], width: 1.5, spanGaps: true,
        points: {show: !!s.points, size: 6, fill: colors[i]},
      }))),
      plugins: [markers(c.checkpoints || [], '#2ca02c'), markers(c.restarts || [], '#d62728')],
    };
    const u = new uPlot(opts, [c.x].concat(c.series.map(s => s.y)), el);
    plotted[c.id] = u.data[0].length;
  }
  setTimeout(() => {
    document.getElementById('plotted').textContent = JSON.stringify(plotted);
    const canvas = document.querySelector('#chart-loss canvas');
    let painted = 0;
    if (canvas) {
      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] > 128 && Math.abs(px[i] - 31) < 40 && Math.abs(px[i + 1] - 119) < 40 &&
            Math.abs(px[i + 2] - 180) < 40) painted++;
      }
    }
    document.getElementById('painted').textContent = String(painted);
    document.getElementById('script-ms').textContent = (performance.now() - t0).toFixed(1);
    document.getElementById('render-ms').textContent = performance.now().toFixed(1);
  }, 0);
})();
