#!/usr/bin/env bash
# Lighthouse (mobile) on Tandem's main screens, with Debian's Chromium; scores into
# .lighthouse/scores.md (copy them into docs/BENCHMARKS.md under "Lighthouse").
# Installs lighthouse@12.2.3 locally into node_modules/ (gitignored).
#
# Signed-out screens run in Lighthouse's usual fresh profile. Signed-in screens: `tandem demo`
# seeds the throw-away data directory; before each such run, scripts/lighthouse_profile.py signs
# in through the real sign-in form (Playwright) in a new Chromium profile and empties its HTTP
# cache, service worker and caches (a cold load, like the signed-out runs) but keeps the refresh
# cookie and the "signed in before" flag; Lighthouse then runs on that profile with
# --disable-storage-reset. A row fails unless the report's final URL is the screen asked for
# (the app sends a visitor without a session to #/signin).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
PORT=${PORT:-8899}
BASE="http://localhost:$PORT"
OUT=.lighthouse
mkdir -p "$OUT"
if [ ! -x node_modules/.bin/lighthouse ]; then
  npm install --no-save --no-audit --no-fund lighthouse@12.2.3 >/dev/null
fi
DATA=$(mktemp -d)
PROFILES=$(mktemp -d)
export TANDEM_DATA_DIR="$DATA" TANDEM_HASH_COST=low TANDEM_BASE_URL="$BASE"
.venv/bin/tandem demo >"$OUT/demo.log" 2>&1
.venv/bin/tandem serve --host 127.0.0.1 --port "$PORT" --no-worker >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$DATA" "$PROFILES"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.2
done
PASSWORD=tandem-demo-2026
PARTNER=alex@demo.tandem
THERAPIST=therapist@demo.tandem
read -r COUPLE MONDAY < <(.venv/bin/python scripts/lighthouse_profile.py ids "$BASE" "$THERAPIST" "$PASSWORD")
# name|account|path (account "-": signed out) (no account: signed out)
SCREENS=(
  "sign in|-|/#/signin"
  "sign up|-|/#/signup"
  "join with a code|-|/#/join"
  "recover a password|-|/#/recover"
  "partner: this week|$PARTNER|/#/week"
  "partner: private notes|$PARTNER|/#/notes/private"
  "partner: settings|$PARTNER|/#/settings"
  "therapist: couples|$THERAPIST|/#/couples"
  "therapist: a couple|$THERAPIST|/#/couple/$COUPLE"
  "therapist: plan editor|$THERAPIST|/#/couple/$COUPLE/plan/$MONDAY"
)
FLAGS="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync"
{
  echo "| screen | performance | accessibility | best practices | SEO |"
  echo "|---|---|---|---|---|"
} >"$OUT/scores.md"
status=0
i=0
for entry in "${SCREENS[@]}"; do
  IFS="|" read -r name account path <<<"$entry"
  i=$((i + 1))
  json="$OUT/$i.json"
  extra=()
  chrome="$FLAGS"
  for attempt in 1 2; do  # once more on a Lighthouse runtime error (NO_NAVSTART now and then)
    if [ "$account" != "-" ]; then
      profile="$PROFILES/$i-$attempt"
      .venv/bin/python scripts/lighthouse_profile.py signin "$BASE" "$account" "$PASSWORD" "$profile"
      extra=(--disable-storage-reset)
      chrome="$FLAGS --user-data-dir=$profile"
    fi
    node_modules/.bin/lighthouse "$BASE$path" "${extra[@]}" \
      --quiet --form-factor=mobile --only-categories=performance,accessibility,best-practices,seo \
      --chrome-flags="$chrome" \
      --output=json --output-path="$json" >/dev/null 2>>"$OUT/lighthouse.log" || true
    node -e 'process.exit(require(process.argv[1]).runtimeError ? 1 : 0)' "$PWD/$json" && break
  done
  node -e '
    const [file, name, path] = process.argv.slice(1);
    const r = require(file);
    const s = (k) => Math.round(100 * (r.categories[k] ? r.categories[k].score : 0));
    const shown = new URL(r.finalDisplayedUrl).hash;
    const wanted = path.slice(1);
    const label = `${name} (\`${wanted.replace(/[0-9a-f-]{36}/, "<id>").replace(/\d{4}-\d{2}-\d{2}/, "<monday>")}\`)`;
    if (r.runtimeError) {
      console.log(`| ${label} | FAILED: ${r.runtimeError.code} | | | |`);
      process.exit(1);
    }
    if (shown !== wanted) {
      console.log(`| ${label} | FAILED: showed ${shown} | | | |`);
      process.exit(1);
    }
    console.log(`| ${label} | ${s("performance")} | ${s("accessibility")} | ${s("best-practices")} | ${s("seo")} |`);
  ' "$PWD/$json" "$name" "$path" >>"$OUT/scores.md" || status=1
done
cat "$OUT/scores.md"
exit "$status"
