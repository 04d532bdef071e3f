# Sourced by ci/env.sh and ci/time-cold.
# Stage timing: `stage_begin NAME` / `stage_end NAME` append to $PATCHBAY_STAGES (when set) the
# stage's start and end in seconds since the epoch; `stage_table` prints them (ci/test does at the
# end; ci/time-cold keeps it).
stage_begin() { [ -z "${PATCHBAY_STAGES:-}" ] || printf 'begin\t%s\t%s\n' "$1" "$(date +%s)" >>"$PATCHBAY_STAGES"; }
stage_end() { [ -z "${PATCHBAY_STAGES:-}" ] || printf 'end\t%s\t%s\n' "$1" "$(date +%s)" >>"$PATCHBAY_STAGES"; }
stage_table() {
  [ -n "${PATCHBAY_STAGES:-}" ] && [ -f "$PATCHBAY_STAGES" ] || return 0
  awk -F'\t' '
    NR == 1 { t0 = $3 }
    $1 == "begin" { b[$2] = $3; order[n++] = $2 }
    $1 == "end" { e[$2] = $3 }
    END {
      printf "| stage | starts at | takes |\n|---|---:|---:|\n"
      for (i = 0; i < n; i++) {
        s = order[i]; d = (s in e) ? e[s] - b[s] : -1
        printf "| %s | %d:%02d | %s |\n", s, (b[s] - t0) / 60, (b[s] - t0) % 60, d < 0 ? "unfinished" : sprintf("%d:%02d", d / 60, d % 60)
        if (s in e && e[s] > last) last = e[s]
      }
      printf "| **all** | 0:00 | %d:%02d |\n", (last - t0) / 60, (last - t0) % 60
    }' "$PATCHBAY_STAGES"
}
