# Sourced by bench/quality.sh and bench/checkpoints.sh: how the quality bench stylizes and scores
# its pairs. One definition, because checkpoints.sh prints its rows beside quality.sh's published
# ones, which only compare when both ran the same alphas, sizes and naming.
# IN: a folder with content/ and style/ (bench/quality.sh's resized inputs).
# Where bench/quality.sh writes by default, and so where checkpoints.sh finds its inputs and rows.
BENCH_OUT=outputs/quality-bench
BENCH_ALPHAS=1,0.5,0.1,0
# bench_stylize IN OUT [adain-batch options...]: every pair at every alpha, at the inputs' sizes.
bench_stylize() {
  ./target/release/adain-batch --content "$1/content" --style "$1/style" --alphas "$BENCH_ALPHAS" \
    --content-size 0 --style-size 0 --format png --out "$2" --quiet "${@:3}" >&2
}
# bench_score IN OUTPUTS LABEL REPORT [adain quality options...]: the table on stdout.
bench_score() {
  ./target/release/adain quality --content "$1/content" --style "$1/style" --outputs "$2" \
    --pattern '{content}_stylized_{style}_alpha{alpha}.png' --alphas "$BENCH_ALPHAS" \
    --label "$3" --report "$4" "${@:5}"
}
# bench_frontier CANDIDATE REFERENCE: one line comparing two `adain quality` summaries
# (REPORT.summary.csv of bench_score) on the frontier, not at a fixed alpha (alpha slides a
# decoder along its own curve): SSIM against style error, linear between the scored alphas; over
# the style-error range both cover, the least and the largest SSIM margin of the candidate, and
# its alpha-1 style error against the reference's. "better" needs a positive margin everywhere
# and an alpha-1 style error at most 5% above the reference's.
bench_frontier() {
  awk -F, 'FNR == 1 { f++; for (i = 1; i <= NF; i++) c[$i] = i; next }
    { n[f]++; se[f, n[f]] = $c["style_error"]; ss[f, n[f]] = $c["ssim"]
      if ($c["alpha"] == 1) one[f] = $c["style_error"] }
    function lim(k, want,   i, r) { r = se[k, 1]
      for (i = 2; i <= n[k]; i++) if ((want == "min") == (se[k, i] < r)) r = se[k, i]; return r }
    # SSIM of table k at style error x, linear between the two scored points nearest x on either
    # side. (Any bracketing pair is not enough: the chord from alpha 1 to alpha 0.1 passes under
    # the alpha-0.5 point of a concave curve, which biased margins until session 20.)
    function at(k, x,   i, b, a) { b = 0; a = 0
      for (i = 1; i <= n[k]; i++) {
        if (se[k, i] == x) return ss[k, i]
        if (se[k, i] < x && (!b || se[k, i] > se[k, b])) b = i
        if (se[k, i] > x && (!a || se[k, i] < se[k, a])) a = i }
      return ss[k, b] + (x - se[k, b]) / (se[k, a] - se[k, b]) * (ss[k, a] - ss[k, b]) }
    END {
      if (f != 2 || !one[1] || !one[2]) { print "frontier: need two summaries with alpha 1 rows"; exit 1 }
      lo = lim(1, "min"); if (lim(2, "min") > lo) lo = lim(2, "min")
      hi = lim(1, "max"); if (lim(2, "max") < hi) hi = lim(2, "max")
      ratio = one[1] / one[2]
      if (lo > hi) {
        printf "frontier: no common style-error range (candidate %.3f-%.3f, reference %.3f-%.3f); alpha-1 style error %+.1f%%: not better\n", lim(1, "min"), lim(1, "max"), lim(2, "min"), lim(2, "max"), 100 * (ratio - 1)
        exit }
      for (s = 0; s <= 100; s++) { x = lo + (hi - lo) * s / 100; d = at(1, x) - at(2, x)
        if (s == 0 || d < mn) mn = d; if (s == 0 || d > mx) mx = d }
      printf "frontier: at equal style error %.3f-%.3f, SSIM margin %+.4f to %+.4f; alpha-1 style error %+.1f%% (%.4f vs %.4f): %s\n", lo, hi, mn, mx, 100 * (ratio - 1), one[1], one[2], (mn > 0 && ratio <= 1.05) ? "better" : "not better"
    }' "$1" "$2"
}
