// Kubedirect protocol site: renders the Mermaid diagrams of a page with the local Mermaid
// bundle (no network), then marks the page `data-diagrams="done"`; filters the ID index.
/* global document, window, console */
(function () {
  'use strict';
  var body = document.body;

  function renderDiagrams() {
    if (body.dataset.diagrams !== 'pending') return;
    if (typeof window.mermaid === 'undefined') {
      console.error('Mermaid bundle missing: diagrams cannot be drawn');
      body.dataset.diagrams = 'failed';
      return;
    }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: 'strict',
      theme: 'default',
      fontFamily: "system-ui, 'DejaVu Sans', Arial, sans-serif",
      sequence: { useMaxWidth: false, wrap: false, mirrorActors: true },
      state: { useMaxWidth: false },
      // ELK (bundled with Mermaid, docs/build/mermaid-bundle.ts): orthogonal edges, each label on its own edge.
      layout: 'elk',
    });
    window.mermaid
      .run({ querySelector: '.mermaid', suppressErrors: false })
      .then(function () {
        body.dataset.diagrams = 'done';
      })
      .catch(function (error) {
        console.error('Mermaid could not draw a diagram: ' + (error && error.message ? error.message : String(error)));
        body.dataset.diagrams = 'failed';
      });
  }

  function setUpFilter() {
    var input = document.getElementById('id-filter');
    if (input === null) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll('[data-filter]'));
    var count = document.getElementById('id-filter-count');
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = row.getAttribute('data-filter');
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !match;
        if (match) shown++;
      });
      if (count !== null) count.textContent = shown + ' of ' + rows.length + ' shown';
    }
    input.addEventListener('input', apply);
    apply();
  }

  // Click a diagram to fit it to the width of the window; click again for its full size.
  function setUpFitToggle() {
    Array.prototype.forEach.call(document.querySelectorAll('.diagram'), function (diagram) {
      diagram.addEventListener('click', function () {
        diagram.classList.toggle('fit');
      });
    });
  }

  setUpFilter();
  setUpFitToggle();
  renderDiagrams();
})();
