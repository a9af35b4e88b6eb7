// The auditor's instance page: the case's diagram in bpmn.io's viewer with the path taken marked.
// Data comes from two JSON/XML routes named in the container's data- attributes (no inline script: CSP).
(function () {
  'use strict';
  var host = document.getElementById('case-diagram');
  if (!host || typeof BpmnJS === 'undefined') {
    return;
  }
  var viewer = new BpmnJS({ container: host });

  function fetchOk(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) {
        throw new Error(url + ': ' + response.status);
      }
      return response;
    });
  }

  function markPath(marks) {
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    function mark(id, css) {
      if (registry.get(id)) {
        canvas.addMarker(id, css);
      }
    }
    Object.keys(marks.passes).forEach(function (id) {
      mark(id, 'completed');
      var count = marks.passes[id];
      if (count > 1 && registry.get(id)) {
        overlays.add(id, 'visit-count', {
          position: { top: -10, right: 10 },
          html: '<span class="visit-count" title="' + count + '">\u00d7' + count + '</span>'
        });
      }
    });
    marks.active.forEach(function (id) { mark(id, 'active'); });
    marks.breached.forEach(function (id) { mark(id, 'breached'); });
  }

  Promise.all([
    fetchOk(host.dataset.diagramUrl).then(function (r) { return r.text(); }),
    fetchOk(host.dataset.marksUrl).then(function (r) { return r.json(); })
  ]).then(function (loaded) {
    return viewer.importXML(loaded[0]).then(function () {
      viewer.get('canvas').zoom('fit-viewport');
      markPath(loaded[1]);
      host.dataset.ready = 'true';
    });
  }).catch(function (err) {
    host.dataset.ready = 'error';
    var message = document.createElement('p');
    message.className = 'flash error diagram-error';
    message.textContent = host.dataset.errorText + ' ' + (err && err.message ? err.message : '');
    host.parentNode.insertBefore(message, host);
  });
}());
