#!/usr/bin/env bash
# `make vendor`: fetch the browser files the pages serve (plotly.js for the dashboard, Swagger UI
# for /docs) from npm at the versions below, with their licences, into cryptopredict/api/vendor/,
# and record their versions and checksums there. The files are committed: `make run`, the tests
# and the image serve them offline, without installing the Python packages that also ship them
# (plotly, 64 MB, and swagger-ui-py, 25 MB, for 6 MB of files). Needs npm (apt-get install npm).
set -euo pipefail

readonly PLOTLY=4.1.1
readonly SWAGGER_UI=5.25.3

cd "$(dirname "$0")/.."
vendor=cryptopredict/api/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" \
    "plotly.js-dist-min@$PLOTLY" "swagger-ui-dist@$SWAGGER_UI" >/dev/null
mkdir "$work/plotly" "$work/swagger-ui"
tar -xzf "$work/plotly.js-dist-min-$PLOTLY.tgz" -C "$work/plotly" --strip-components=1 \
    package/plotly.min.js package/LICENSE
tar -xzf "$work/swagger-ui-dist-$SWAGGER_UI.tgz" -C "$work/swagger-ui" --strip-components=1 \
    package/swagger-ui-bundle.js package/swagger-ui.css package/favicon-32x32.png \
    package/LICENSE package/NOTICE package/swagger-ui-bundle.js.LICENSE.txt

rm -rf "$vendor/plotly" "$vendor/swagger-ui"
cp -r "$work/plotly" "$work/swagger-ui" "$vendor/"
printf 'plotly.js-dist-min %s\nswagger-ui-dist %s\n' "$PLOTLY" "$SWAGGER_UI" >"$vendor/VERSIONS"
(cd "$vendor" && sha256sum plotly/* swagger-ui/* >SHA256SUMS)
echo "vendored plotly.js $PLOTLY and Swagger UI $SWAGGER_UI into $vendor"
