#!/usr/bin/env sh
# Refresh the vendored front-end files from npm at the versions package.json pins.
# Only a developer runs this (with Node.js and npm); installing or running the app never needs npm.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
(cd "$work" && npm install --no-audit --no-fund --ignore-scripts --omit=dev --loglevel=error)
m="$work/node_modules"
rm -rf "$here/bpmn-js" "$here/properties-panel" "$here/camunda-moddle" "$here/swagger-ui"
mkdir -p "$here/bpmn-js/assets" "$here/properties-panel" "$here/camunda-moddle" "$here/swagger-ui"
# bpmn-js: the modeller and the navigated viewer (global BpmnJS each), their CSS and the BPMN icon font.
cp "$m/bpmn-js/dist/bpmn-modeler.production.min.js" "$m/bpmn-js/dist/bpmn-navigated-viewer.production.min.js" \
   "$m/bpmn-js/LICENSE" "$here/bpmn-js/"
cp -r "$m/bpmn-js/dist/assets/." "$here/bpmn-js/assets/"
# The properties panel (global BpmnJSPropertiesPanel) and its CSS from @bpmn-io/properties-panel.
cp "$m/bpmn-js-properties-panel/dist/bpmn-js-properties-panel.umd.js" "$m/bpmn-js-properties-panel/LICENSE" \
   "$here/properties-panel/"
cp "$m/@bpmn-io/properties-panel/dist/assets/properties-panel.css" "$here/properties-panel/"
# The Camunda 7 moddle descriptor (moddleExtensions.camunda): keeps camunda:* elements on save.
cp "$m/camunda-bpmn-moddle/resources/camunda.json" "$m/camunda-bpmn-moddle/LICENSE" "$here/camunda-moddle/"
# Swagger UI for the API docs page.
for f in swagger-ui-bundle.js swagger-ui.css LICENSE; do cp "$m/swagger-ui-dist/$f" "$here/swagger-ui/"; done
# Record what was vendored.
(cd "$work" && npm ls --depth=0 --omit=dev) > "$here/VERSIONS.txt"
echo "vendored into $here"
