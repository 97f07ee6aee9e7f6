// Progressive: the report reads fully without this; it only switches timelines and filters the run list.
(function () {
  var select = document.getElementById('timeline-run');
  if (select) {
    select.addEventListener('change', function () {
      document.querySelectorAll('.timeline-run').forEach(function (d) {
        d.hidden = d.getAttribute('data-run') !== select.value;
      });
    });
  }
  var only = document.getElementById('only-unexpected');
  if (only) {
    only.addEventListener('change', function () {
      document.querySelectorAll('table.runs tr.run').forEach(function (tr) {
        tr.hidden = only.checked && !tr.classList.contains('unexpected');
      });
    });
  }
})();
