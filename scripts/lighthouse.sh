#!/usr/bin/env bash
# Lighthouse (mobile) on Tandem's main screens, with Debian's Chromium; scores into
# .lighthouse/scores.md (copy them into docs/BENCHMARKS.md under "Lighthouse").
# Installs lighthouse@12.2.3 locally into node_modules/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
PORT=${PORT:-8899}
OUT=.lighthouse
mkdir -p "$OUT"
if [ ! -x node_modules/.bin/lighthouse ]; then
  npm install --no-save --no-audit --no-fund lighthouse@12.2.3 >/dev/null
fi
DATA=$(mktemp -d)
TANDEM_DATA_DIR="$DATA" TANDEM_HASH_COST=low TANDEM_BASE_URL="http://localhost:$PORT" \
  .venv/bin/tandem serve --host 127.0.0.1 --port "$PORT" --no-worker >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.2
done
# Screens a visitor reaches without signing in (Lighthouse runs each in a fresh profile, so
# signed-in screens would only show the sign-in page; the browser tests cover those).
SCREENS=("signin:/#/signin" "signup:/#/signup" "join:/#/join" "recover:/#/recover")
{
  echo "| screen | performance | accessibility | best practices | SEO |"
  echo "|---|---|---|---|---|"
} >"$OUT/scores.md"
for entry in "${SCREENS[@]}"; do
  name=${entry%%:*}
  path=${entry#*:}
  node_modules/.bin/lighthouse "http://localhost:$PORT$path" \
    --quiet --form-factor=mobile --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync" \
    --output=json --output-path="$OUT/$name.json" >/dev/null 2>>"$OUT/lighthouse.log" || true
  node -e '
    const r = require(process.argv[1]);
    const s = (k) => Math.round(100 * (r.categories[k] ? r.categories[k].score : 0));
    console.log(`| ${process.argv[2]} | ${s("performance")} | ${s("accessibility")} | ${s("best-practices")} | ${s("seo")} |`);
  ' "$PWD/$OUT/$name.json" "$name" >>"$OUT/scores.md"
done
cat "$OUT/scores.md"
