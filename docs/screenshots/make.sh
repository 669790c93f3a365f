#!/usr/bin/env bash
# Regenerates docs/screenshots/check-report.png, the HTML report of the clinic example as
# README.md and docs/formats.md show it. Needs hipaactl on PATH and the system Chromium
# (apt-get install -y chromium); downloads nothing.
#
# The trend is real: a check of the untouched example, then `apply` fixes what it can
# and a second check; the two JSON reports are dated one and two days back so that the
# chart spreads over three days, and the page's own run is the third point.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
  echo "chromium is not installed (apt-get install -y chromium)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/clinic/." "$work/"
rm -rf "$work/.hipaactl"
cd "$work"
export NO_COLOR=1
unset HIPAACTL_NOTIFY_URL HIPAACTL_CONFIG

backdate() { # FILE DAYS: move run.evaluated_at DAYS days back
  python3 - "$1" "$2" <<'PY'
import datetime as dt, json, sys
path, days = sys.argv[1], int(sys.argv[2])
report = json.load(open(path, encoding="utf-8"))
at = dt.datetime.fromisoformat(report["run"]["evaluated_at"]) - dt.timedelta(days=days)
report["run"]["evaluated_at"] = at.isoformat(timespec="seconds")
json.dump(report, open(path, "w", encoding="utf-8"), indent=2, sort_keys=True)
PY
}

hipaactl check --format json -o history/first.json || test $? = 3
backdate history/first.json 2
hipaactl apply --auto-approve >/dev/null
hipaactl check --format json -o history/second.json || test $? = 3
backdate history/second.json 1
hipaactl check --format html -o report.html --history history || test $? = 3

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars \
  --user-data-dir="$work/profile" --force-device-scale-factor=1 --window-size=1200,1180 \
  --screenshot="$here/check-report.png" "file://$work/report.html" 2>/dev/null
echo "wrote $here/check-report.png ($(wc -c <"$here/check-report.png") bytes)"
