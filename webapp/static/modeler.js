/* The process owners' modeller: bpmn.io with its properties panel and the Camunda moddle, loading a
   deployed version and deploying what is saved. Everything it needs comes in data- attributes. */
(function () {
  "use strict";

  var root = document.getElementById("modeler");
  var result = document.getElementById("deploy-result");
  var button = document.getElementById("deploy-button");
  var data = root.dataset;
  var modeler = null;
  var marked = null;
  var unsaved = false;  // edits not deployed yet: leaving the page asks first

  function show(kind, text) {
    result.removeAttribute("data-version");
    result.className = "flash " + kind;
    result.textContent = text;
    result.hidden = false;
  }

  function unmark() {
    if (marked) {
      modeler.get("canvas").removeMarker(marked, "deploy-error");
      marked = null;
    }
  }

  function pointAt(elementId) {
    var element = elementId && modeler.get("elementRegistry").get(elementId);
    if (!element) {
      return;
    }
    var canvas = modeler.get("canvas");
    canvas.addMarker(elementId, "deploy-error");
    marked = elementId;
    if (canvas.scrollToElement) {
      canvas.scrollToElement(element);
    }
    modeler.get("selection").select(element);
  }

  function deploy() {
    unmark();
    button.disabled = true;
    show("", data.msgDeploying);
    modeler.saveXML({ format: true }).then(function (saved) {
      return fetch(data.deployUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/xml; charset=utf-8", "X-CSRFToken": data.csrfToken },
        body: saved.xml
      });
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok && body.ok) {
          show(body.created ? "success" : "warning", body.message);
          unsaved = false;
          result.setAttribute("data-version", body.version);
        } else {
          show("error", data.msgFailed + " " + (body.message || body.problem || response.statusText));
          pointAt(body.element_id);
        }
      }, function () {
        show("error", data.msgFailed + " " + response.status + " " + response.statusText);
      });
    }).catch(function (err) {
      show("error", data.msgNetwork + " " + err);
    }).then(function () {
      button.disabled = false;
    });
  }

  Promise.all([
    fetch(data.diagramUrl, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
      return r.text();
    }),
    fetch(data.moddleUrl).then(function (r) { return r.json(); })
  ]).then(function (loaded) {
    var panel = window.BpmnJSPropertiesPanel;
    modeler = new window.BpmnJS({
      container: "#canvas",
      propertiesPanel: { parent: "#properties" },
      additionalModules: [
        panel.BpmnPropertiesPanelModule,
        panel.BpmnPropertiesProviderModule,
        panel.CamundaPlatformPropertiesProviderModule
      ],
      moddleExtensions: { camunda: loaded[1] }
    });
    return modeler.importXML(loaded[0]);
  }).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    modeler.on("commandStack.changed", function () { unsaved = true; });
    window.addEventListener("beforeunload", function (event) {
      if (unsaved) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    root.setAttribute("data-ready", "true");
    button.disabled = false;
    button.addEventListener("click", deploy);
  }).catch(function (err) {
    show("error", data.msgLoadingFailed + " " + (err && err.message ? err.message : err));
  });
}());
