// ogai-report's page script (inlined into the report by web/report_html.cc after uPlot and
// web/charts.js; plain ES2017, no network). Draws one chart per entry of the embedded data and
// writes what it drew into #plotted (points per chart), #painted (pixels of the loss curve's
// colour on its canvas), #render-ms (from the start of navigation until the charts are drawn:
// reading and parsing the page and uPlot included) and #script-ms (this script alone), which
// tests read with headless Chromium.
(function () {
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const width = Math.max(480, Math.min(1100, document.body.clientWidth - 48));
  const plotted = {};
  for (const c of D.charts) {
    plotted[c.id] = OgaiCharts.draw(c, document.getElementById('chart-' + c.id), width).points();
  }
  setTimeout(() => {
    document.getElementById('plotted').textContent = JSON.stringify(plotted);
    document.getElementById('painted').textContent =
        String(OgaiCharts.painted(document.querySelector('#chart-loss canvas')));
    document.getElementById('script-ms').textContent = (performance.now() - t0).toFixed(1);
    document.getElementById('render-ms').textContent = performance.now().toFixed(1);
  }, 0);
})();
