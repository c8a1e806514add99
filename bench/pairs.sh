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
