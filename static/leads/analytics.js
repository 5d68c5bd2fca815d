// Draws the analytics charts from the aggregated figures the page embeds (#chart-data).
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var brand = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#2563eb";
  // A colour-blind-safe palette (Okabe-Ito) for the sources.
  var palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  new Chart(document.getElementById("chart-daily"), {
    type: "bar",
    data: {
      labels: data.daily.labels,
      datasets: data.daily.datasets.map(function (d, i) {
        return { label: d.label, data: d.data, backgroundColor: palette[i % palette.length] };
      })
    },
    options: Object.assign({}, common, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } })
  });
  new Chart(document.getElementById("chart-funnel"), {
    type: "bar",
    data: { labels: data.funnel.labels, datasets: [{ label: "Leads", data: data.funnel.data, backgroundColor: brand }] },
    options: Object.assign({}, common, { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } })
  });
  new Chart(document.getElementById("chart-scores"), {
    type: "bar",
    data: { labels: data.scores.labels, datasets: [{ label: "Leads", data: data.scores.data, backgroundColor: brand }] },
    options: Object.assign({}, common, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
  });
})();
