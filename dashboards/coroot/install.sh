#!/usr/bin/env bash
# Installs (or updates in place) Weir's custom dashboard in Coroot through Coroot's HTTP API.
#
#   dashboards/coroot/install.sh                      # the compose stack: http://localhost:8080
#   COROOT_URL=https://coroot.example.com COROOT_PROJECT=prod dashboards/coroot/install.sh
#
# Environment:
#   COROOT_URL        Coroot's address (default http://localhost:8080)
#   COROOT_PROJECT    project name (default weir), or COROOT_PROJECT_ID to skip the lookup
#   COROOT_USER       login when anonymous access is off (e.g. admin), with COROOT_PASSWORD
#   DASHBOARD_FILE    the definition (default: weir.json beside this script)
#
# Needs curl and node. Running it twice keeps one dashboard: it is found by name and updated.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="${COROOT_URL:-http://localhost:8080}"
url="${url%/}"
project="${COROOT_PROJECT:-weir}"
file="${DASHBOARD_FILE:-$here/weir.json}"
jar="$(mktemp)"
trap 'rm -f "$jar"' EXIT

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

for tool in curl node; do
  command -v "$tool" > /dev/null || fail "$tool is required"
done
[ -r "$file" ] || fail "cannot read the dashboard definition $file"

# api METHOD PATH [BODY]: prints the response body; fails with Coroot's answer on HTTP >= 400.
api() {
  local method="$1" path="$2" body="${3:-}" out status
  out="$(mktemp)"
  if [ -n "$body" ]; then
    status="$(curl -sS -o "$out" -w '%{http_code}' -b "$jar" -c "$jar" -X "$method" \
      -H 'Content-Type: application/json' --data-binary "$body" "$url$path")" ||
      fail "cannot reach Coroot at $url (set COROOT_URL)"
  else
    status="$(curl -sS -o "$out" -w '%{http_code}' -b "$jar" -c "$jar" -X "$method" "$url$path")" ||
      fail "cannot reach Coroot at $url (set COROOT_URL)"
  fi
  if [ "$status" -ge 400 ]; then
    fail "$method $path answered HTTP $status: $(head -c 300 "$out")"
  fi
  cat "$out"
  rm -f "$out"
}

# json SCRIPT: runs a small JavaScript function body over the JSON on stdin; `d` is the value,
# `env` the environment. Prints what it returns.
json() {
  node -e '
    let s = "";
    process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const d = s.trim() ? JSON.parse(s) : null;
      const out = new Function("d", "env", process.argv[1])(d, process.env);
      if (out !== undefined && out !== null) process.stdout.write(String(out));
    });
  ' "$1"
}

if [ -n "${COROOT_USER:-}" ]; then
  [ -n "${COROOT_PASSWORD:-}" ] || fail "COROOT_USER is set: set COROOT_PASSWORD too"
  body="$(COROOT_USER="$COROOT_USER" COROOT_PASSWORD="$COROOT_PASSWORD" json \
    'return JSON.stringify({ email: env.COROOT_USER, password: env.COROOT_PASSWORD })' < /dev/null)"
  api POST /api/login "$body" > /dev/null
fi

project_id="${COROOT_PROJECT_ID:-}"
if [ -z "$project_id" ]; then
  project_id="$(api GET /api/user | PROJECT="$project" json '
    const found = [];
    const walk = (v) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        if (v.name === env.PROJECT && typeof v.id === "string") found.push(v.id);
        Object.values(v).forEach(walk);
      }
    };
    walk(d && d.projects);
    return found[0];
  ')"
  [ -n "$project_id" ] || fail "no Coroot project named '$project' (set COROOT_PROJECT or COROOT_PROJECT_ID)"
fi

base="/api/project/$project_id/dashboards"
name="$(json 'return d.name' < "$file")"
[ -n "$name" ] || fail "$file has no name"

dashboard_id="$(api GET "$base" | NAME="$name" json '
  const list = Array.isArray(d) ? d : (d && d.data) || [];
  const hit = list.find((x) => x && x.name === env.NAME);
  return hit && hit.id;
')"

if [ -z "$dashboard_id" ]; then
  body="$(json 'return JSON.stringify({ action: "create", name: d.name, description: d.description || "" })' < "$file")"
  dashboard_id="$(api POST "$base" "$body" | tr -d '[:space:]')"
  [ -n "$dashboard_id" ] || fail "Coroot created the dashboard but returned no id"
  echo "created dashboard '$name' ($dashboard_id)"
else
  body="$(json 'return JSON.stringify({ action: "update", name: d.name, description: d.description || "" })' < "$file")"
  api POST "$base/$dashboard_id" "$body" > /dev/null
  echo "updating dashboard '$name' ($dashboard_id)"
fi

# Without an action, Coroot saves the panel groups of the posted dashboard.
body="$(ID="$dashboard_id" json 'return JSON.stringify({ id: env.ID, name: d.name, description: d.description || "", config: d.config })' < "$file")"
api POST "$base/$dashboard_id" "$body" > /dev/null
echo "saved $(json 'return d.config.groups.reduce((n, g) => n + g.panels.length, 0)' < "$file") panels: $url/p/$project_id/dashboards/$dashboard_id"
