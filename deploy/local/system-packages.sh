#!/usr/bin/env sh
# The system libraries the reporting service's PDFs need (WeasyPrint): Pango, PangoFT2, a DejaVu font
# for the text, and Noto fonts for the scripts DejaVu lacks and for emoji (every name renders).
# And Debian's Chromium, which the web pages' browser tests drive (Playwright, no browser download),
# and npm for the pages' CSS when the machine has none.
# Installs them with apt-get when they are missing and this runs as root; otherwise says what to install.
# Exit status: 0 when everything is there (or was installed), 1 when something is missing.
set -eu

missing() {
  found=$(ldconfig -p 2>/dev/null || true)
  echo "$found" | grep -q 'libpango-1.0\.so' || echo libpango-1.0-0
  echo "$found" | grep -q 'libpangoft2-1.0\.so' || echo libpangoft2-1.0-0
  if ! { command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'DejaVu Sans'; } \
     && ! ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >/dev/null 2>&1; then
    echo fonts-dejavu-core
  fi
  ls /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf >/dev/null 2>&1 || echo fonts-noto-core
  ls /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf >/dev/null 2>&1 || echo fonts-noto-color-emoji
  command -v chromium >/dev/null 2>&1 || echo chromium
  command -v npm >/dev/null 2>&1 || echo npm  # the web pages' CSS and axe-core (npm ci)
}

absent=$(missing | tr '\n' ' ' | sed 's/ *$//')
if [ -z "$absent" ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so'; then
    echo "system packages for PDF reports and browser tests: present (optional: libharfbuzz-subset0 lets WeasyPrint subset fonts faster)"
  else
    echo "system packages for PDF reports and browser tests: present"
  fi
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing for PDF reports and the web pages: $absent"
  apt-get update && apt-get install -y --no-install-recommends $absent
  exit 0
fi

echo "PDF reports and the web pages need system packages that are missing: $absent" >&2
echo "install them as root, e.g.: apt-get update && apt-get install -y --no-install-recommends $absent" >&2
exit 1
