/* Draws every chart of the page: each <script type="application/json" data-plot="ID"> holds a
   Plotly figure for the element with that id. Shared by the dashboard and the report. */
(function () {
  "use strict";
  function draw() {
    var blocks = document.querySelectorAll('script[type="application/json"][data-plot]');
    blocks.forEach(function (block) {
      var target = document.getElementById(block.getAttribute("data-plot"));
      if (!target || !window.Plotly) { return; }
      var figure = JSON.parse(block.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
        modeBarButtonsToRemove: ["select2d", "lasso2d"]
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
