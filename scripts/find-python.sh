#!/usr/bin/env bash
# Prints the path of a working interpreter of the wanted minor version (e.g. 3.12), or nothing.
# pyenv shims exist for versions that are installed but not selected, so each candidate is run.
want="$1"
for c in "python$want" "$HOME"/.pyenv/versions/"$want".*/bin/python"$want" /usr/bin/python"$want" /usr/local/bin/python"$want"; do
  p=$(command -v "$c" 2>/dev/null) || continue
  if "$p" -c "import sys; assert sys.version.startswith('$want')" >/dev/null 2>&1; then
    "$p" -c "import sys; print(sys.executable)"; exit 0
  fi
done
