// The charts of ogai's web pages, shared by the report (web/report_page.js) and the dashboard
// (web/dashboard.js): one uPlot chart per chart record of the metrics JSON that web/ builds in
// C++ (web/run_charts.h: id, xlabel, ylabel, log, x, series [{label, y, points}],
// checkpoints, restarts). Plain ES2017, no network; needs uPlot loaded before it.
const OgaiCharts = (function () {
  const colors = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b'];
  // Dashed vertical lines at the given x values (checkpoints green, restarts red), read from
  // the chart record on each draw so that a live page's new marks appear.
  function markers(get, color) {
    return {
      hooks: {
        draw: [u => {
          const ctx = u.ctx, b = u.bbox;
          ctx.save();
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
          for (const x of get() || []) {
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
  const dataOf = c => [c.x].concat(c.series.map(s => s.y));

  // Draws chart record `c` into element `el`; returns a handle whose update(c) redraws it
  // with a newer record of the same chart (same series) without rebuilding it.
  function draw(c, el, width) {
    let marks = c;
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
      plugins: [markers(() => marks.checkpoints, '#2ca02c'), markers(() => marks.restarts, '#d62728')],
    };
    const u = new uPlot(opts, dataOf(c), el);
    return {
      plot: u,
      points: () => u.data[0].length,
      sameShape: n => n.series.length === c.series.length && n.series.every((s, i) => s.label === c.series[i].label),
      update(n) {
        marks = n;
        u.setData(dataOf(n));
      },
      destroy: () => u.destroy(),
    };
  }

  // Pixels of the first series' colour on a chart's canvas: that a curve was drawn at all.
  function painted(canvas) {
    if (!canvas) return 0;
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 128 && Math.abs(px[i] - 31) < 40 && Math.abs(px[i + 1] - 119) < 40 &&
          Math.abs(px[i + 2] - 180) < 40) n++;
    }
    return n;
  }

  return {draw, painted, colors};
})();
