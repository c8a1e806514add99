# Sourced by the scripts that read adain's CSVs (bench/speed.sh, bench/memory.sh,
# scripts/gpu-bench.sh): columns by their header name, never by position, so a column added to
# a report or to losses.csv cannot shift what a script reads (gpu-bench.sh once printed
# `skipped` as images/s after losses.csv gained the identity columns).
# csv_cols FILE NAME...: the named columns of every data row, comma-separated, in that order;
# an unknown name is an error naming the file.
csv_cols() {
  local f=$1; shift
  awk -F, -v want="$*" '
    NR == 1 { n = split(want, w, " ")
      for (i = 1; i <= NF; i++) c[$i] = i
      for (j = 1; j <= n; j++) if (!(w[j] in c)) { printf "%s: no column %s\n", FILENAME, w[j] > "/dev/stderr"; exit 1 }
      next }
    { line = $c[w[1]]; for (j = 2; j <= n; j++) line = line "," $c[w[j]]; print line }' "$f"
}
